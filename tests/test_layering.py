"""The import rules of the layers: only the CPU backend imports ``kernels.cpu``, and
``kernels`` never imports ``autodiff``. Read from the source (``ast``), so a lazy import
inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path, root: Path = ROOT) -> set[str]:
    """Every module ``path`` imports (relative imports resolved against its package)."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else ()
            module = ".".join(base + ((node.module,) if node.module else ()))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_only_the_cpu_backend_imports_cpu_kernels():
    allowed = {ROOT / "autodiff" / "backends" / "cpu.py"}
    offenders = {str(p.relative_to(ROOT)): sorted(n for n in _imports(p) if n.startswith("kernels.cpu"))
                 for p in (ROOT / "autodiff").rglob("*.py") if p not in allowed}
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"modules importing kernels.cpu outside autodiff/backends/cpu.py: {offenders}"
    assert any(n.startswith("kernels.cpu") for n in _imports(next(iter(allowed))))


def test_kernels_never_import_autodiff():
    offenders = {str(p.relative_to(ROOT)): sorted(n for n in _imports(p) if n.split(".")[0] == "autodiff")
                 for p in (ROOT / "kernels").rglob("*.py")}
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"kernels importing autodiff: {offenders}"


def test_tensor_and_autograd_do_not_import_each_other_in_a_circle():
    tensor = _imports(ROOT / "autodiff" / "tensor.py")
    assert not any(n.startswith(("autodiff.autograd", "autodiff.ops")) for n in tensor), sorted(tensor)


def test_the_rules_see_relative_and_lazy_imports(tmp_path):
    probe = tmp_path / "autodiff" / "ops" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("def f():\n    from ...kernels.cpu import elementwise\n    import kernels.cpu.reduce\n")
    found = _imports(probe, tmp_path)
    assert "kernels.cpu.elementwise" in found and "kernels.cpu.reduce" in found

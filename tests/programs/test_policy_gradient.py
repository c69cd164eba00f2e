"""REINFORCE in the style of the PyTorch examples, on a small deterministic balancing task.

The environment and the action draws come from NumPy, shared by both runs; each library
turns the same uniform draw into an action through its own policy probabilities, so the
trajectories agree while the policies do."""

import numpy as np

from program_common import compare


class Balance:
    """A pole-on-a-cart-like toy: state (x, v, theta, omega); episode ends when |theta| > 0.5."""

    def __init__(self, seed):
        self.rs = np.random.RandomState(seed)

    def reset(self):
        self.s = self.rs.uniform(-0.05, 0.05, 4)
        self.t = 0
        return self.s.astype(np.float32)

    def step(self, action):
        x, v, th, om = self.s
        force = 1.0 if action == 1 else -1.0
        om = om + 0.05 * (9.8 * np.sin(th) - force * np.cos(th))
        th = th + 0.05 * om
        v = v + 0.05 * force
        x = x + 0.05 * v
        self.s = np.array([x, v, th, om])
        self.t += 1
        done = abs(th) > 0.5 or self.t >= 60
        return self.s.astype(np.float32), 1.0, done


def build(lib):
    nn = lib.nn

    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.affine1 = nn.Linear(4, 32)
            self.affine2 = nn.Linear(32, 2)

        def forward(self, x):
            return lib.softmax(self.affine2(lib.relu(self.affine1(x))), dim=1)

    return Policy()


def program(lib, make, episodes):
    dist_mod = lib.distributions
    policy = make(lib, build)
    opt = lib.optim.Adam(policy.parameters(), lr=1e-2)
    env, draws = Balance(1), np.random.RandomState(2)
    eps = np.finfo(np.float32).eps.item()
    gamma, losses = 0.99, []
    for _ in range(episodes):
        state, log_probs, rewards, done = env.reset(), [], [], False
        while not done:
            probs = policy(lib.from_numpy(state).float().unsqueeze(0))
            m = dist_mod.Categorical(probs)
            action = int((np.cumsum(probs.detach().numpy()[0]) < draws.rand()).sum())
            log_probs.append(m.log_prob(lib.tensor([action])))
            state, reward, done = env.step(action)
            rewards.append(reward)
        R, returns = 0.0, []
        for r in rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
        returns = lib.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        loss = lib.cat([-lp * R for lp, R in zip(log_probs, returns)]).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_reinforce_trains_like_torch():
    compare(program, 6, rtol=1e-3, atol=1e-4)

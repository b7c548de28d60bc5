"""What the fuzz tests share: mutations of JSON trees, and the seed of their random cases."""
import os
import random


#: the seed of the suite's own run: the same cases every time, so a red suite always means a changed behaviour
DEFAULT_SEED = 123850770


def fuzz_seed() -> int:
    """GENZOO_FUZZ_SEED: a number replays that seed's cases, `new` draws a fresh seed (to hunt for new failures);
    unset, DEFAULT_SEED. The tests print the seed they used."""
    text = os.environ.get("GENZOO_FUZZ_SEED", "")
    if text == "new":
        return random.SystemRandom().randrange(2**32)
    return int(text) if text else DEFAULT_SEED


def random_value(rng):
    return rng.choice([None, True, -1, 0, 2**70, float("nan"), float("inf"), -0.5, "x", [], [1, "a"], {}, {"a": [1]},
                       [[0.9, 0.999]], 1e308])


def mutate_json(node, rng):
    """Replace one randomly chosen node of a JSON tree with a value of a random type (in place when possible)."""
    path, cur = [], node
    while isinstance(cur, (dict, list)) and cur and rng.random() < 0.8:
        key = rng.choice(list(cur)) if isinstance(cur, dict) else rng.randrange(len(cur))
        path.append(key)
        cur = cur[key]
    if not path:
        return random_value(rng)
    parent = node
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and rng.random() < 0.2:
        del parent[path[-1]]
    else:
        parent[path[-1]] = random_value(rng)
    return node

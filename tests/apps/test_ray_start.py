"""Starting a local Ray: retried when the node is slow to register, one clear line when it
never does (no Ray needed: a stand-in module plays Ray)."""

from __future__ import annotations

import pytest

from lavr.apps.batch_ray import _init, start_local_ray
from lavr.core_model.errors import InputError

SLOW = ("The current node timed out during startup. This could happen because some of the "
        "raylet failed to startup or the GCS has become overloaded.")


class FakeRay:
    def __init__(self, failures: int) -> None:
        self.failures, self.inits, self.shutdowns, self.kwargs = failures, 0, 0, {}

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs) -> None:
        self.inits += 1
        self.kwargs = kwargs
        if self.inits <= self.failures:
            raise Exception(SLOW)  # what Ray raises: a plain Exception

    def shutdown(self) -> None:
        self.shutdowns += 1


def test_a_slow_start_is_shut_down_and_tried_again():
    ray = FakeRay(failures=2)
    assert _init(ray, None) is True
    assert (ray.inits, ray.shutdowns) == (3, 2)
    assert ray.kwargs["_node_ip_address"] == "127.0.0.1"
    assert ray.kwargs["include_dashboard"] is False


def test_a_start_that_never_succeeds_ends_in_one_line():
    ray = FakeRay(failures=99)
    with pytest.raises(InputError) as info:
        start_local_ray(ray, attempts=2)
    msg = str(info.value)
    assert ray.inits == 2 and "\n" not in msg
    assert msg.startswith("could not start a local Ray (2 attempts") and "timed out" in msg


def test_an_unreachable_cluster_is_one_line():
    class Unreachable(FakeRay):
        def init(self, **kwargs) -> None:
            raise Exception("Failed to connect\nto GCS at head:6379")

    with pytest.raises(InputError, match="^could not reach the Ray cluster at head:6379: "
                                         "Failed to connect to GCS at head:6379$"):
        _init(Unreachable(0), "head:6379")

"""tests/support/order.py: the long tests head the workers' slices; no test is lost or repeated."""

from __future__ import annotations

from tests.support.order import long_first, slice_sizes


def test_slices_are_split_as_worksteal_splits_them():
    assert slice_sizes(10, 4) == [2, 2, 3, 3]
    assert slice_sizes(3, 4) == [0, 1, 1, 1]
    assert sum(slice_sizes(1088, 4)) == 1088


def test_each_slice_starts_with_its_long_test():
    items = [f"t{i}" for i in range(20)]
    long = {"t3", "t11", "t12", "t19"}
    ordered = long_first(items, long.__contains__, 4)
    assert sorted(ordered) == sorted(items)
    starts = [0, 5, 10, 15]          # slice_sizes(20, 4) == [5, 5, 5, 5]
    assert [ordered[s] for s in starts] == ["t3", "t11", "t12", "t19"]
    assert [t for t in ordered if t not in long] == [t for t in items if t not in long]   # the rest keep their order


def test_more_long_tests_than_workers_and_one_worker():
    items = [f"t{i}" for i in range(6)]
    ordered = long_first(items, {"t4", "t5"}.__contains__, 1)
    assert ordered == ["t4", "t5", "t0", "t1", "t2", "t3"]
    ordered = long_first(items, {"t1", "t3", "t5"}.__contains__, 2)
    assert ordered == ["t1", "t5", "t0", "t3", "t2", "t4"]

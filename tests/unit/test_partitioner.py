"""The producer's partitioner: Kafka's default choice of partition, remembered per key."""

from __future__ import annotations

import uuid

from aiokafka.partitioner import DefaultPartitioner

from libs.common.kafka import KeyPartitioner


def test_it_chooses_what_kafkas_default_partitioner_chooses() -> None:
    ours, default = KeyPartitioner(max_keys=50), DefaultPartitioner()
    keys = [f"changchun:{uuid.uuid4().hex}".encode() for _ in range(200)]
    keys += ["xuanen|宣恩某建筑有限公司".encode(), b"", b"k"]
    for partitions in ([0], [0, 1, 2], list(range(7))):
        for key in keys * 2:  # the second time from what it remembered (or forgot, when full)
            assert ours(key, partitions, partitions) == default(key, partitions, partitions)


def test_a_message_without_a_key_goes_to_an_available_partition() -> None:
    ours = KeyPartitioner()
    assert {ours(None, [0, 1, 2], [2]) for _ in range(20)} == {2}
    assert {ours(None, [0, 1, 2], []) for _ in range(200)} == {0, 1, 2}

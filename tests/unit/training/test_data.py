from __future__ import annotations

import cv2
import numpy as np
import pytest
from torch.utils.data import DataLoader

from difffake_core.training.data import CropRecord, PseudoFakePairs, collate_pairs, split_by_video


def test_split_holds_out_whole_videos():
    ids = [f"v{i % 7}" for i in range(70)]  # frames of 7 videos, interleaved
    train, val = split_by_video(ids, 0.3, np.random.default_rng(1))
    train_videos = {ids[i] for i in train}
    val_videos = {ids[i] for i in val}
    assert not train_videos & val_videos
    assert len(val_videos) == 2  # round(0.3 * 7)
    assert sorted([*train, *val]) == list(range(70))
    again = split_by_video(ids, 0.3, np.random.default_rng(1))
    assert np.array_equal(again[1], val)


def test_split_refuses_to_leave_nothing_to_train():
    with pytest.raises(ValueError, match="1 videos"):
        split_by_video(["a", "a"], 0.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="val_fraction"):
        split_by_video(["a", "b"], 1.0, np.random.default_rng(0))


def test_crop_record_validation_and_decoding(records):
    record = records[0]
    image = record.decode()
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    same = CropRecord(image=image, landmarks=record.landmarks, video_id="x")
    assert np.array_equal(same.decode(), image)  # PNG is lossless
    with pytest.raises(ValueError, match="exactly one"):
        CropRecord(landmarks=record.landmarks, video_id="x")
    with pytest.raises(ValueError, match=r"\(5, 2\)"):
        CropRecord(image=image, landmarks=np.zeros((5, 2)), video_id="x")
    with pytest.raises(ValueError, match="cannot decode"):
        CropRecord(image_bytes=b"not an image", landmarks=record.landmarks, video_id="x").decode()


def test_pairs_are_deterministic_per_seed_epoch_and_index(records):
    a = PseudoFakePairs(records, 64, seed=5)
    b = PseudoFakePairs(records, 64, seed=5)
    real_a, fake_a = a[3]
    real_b, fake_b = b[3]
    assert np.array_equal(real_a, real_b) and np.array_equal(fake_a, fake_b)
    assert np.abs(real_a.astype(int) - fake_a).sum() > 0  # the blend changed something
    a.set_epoch(1)
    assert not np.array_equal(a[3][1], fake_a)  # a new pseudo-fake each epoch
    other = PseudoFakePairs(records, 64, seed=6)
    assert not np.array_equal(other[3][1], fake_a)


def test_pairs_resize_to_the_input_size(records):
    real, fake = PseudoFakePairs(records, 48, seed=0)[0]
    assert real.shape == fake.shape == (48, 48, 3)


def test_batches_do_not_depend_on_worker_count(records):
    dataset = PseudoFakePairs(records[:8], 64, seed=2)
    dataset.set_epoch(3)

    def batches(workers):
        loader = DataLoader(dataset, batch_size=4, num_workers=workers, collate_fn=collate_pairs)
        return list(loader)

    for (img0, lab0), (img2, lab2) in zip(batches(0), batches(2), strict=True):
        assert np.array_equal(img0.numpy(), img2.numpy()) and np.array_equal(lab0, lab2)


def test_collate_puts_reals_first_with_labels(records):
    items = [PseudoFakePairs(records, 64, seed=0)[i] for i in range(3)]
    images, labels = collate_pairs(items)
    assert images.shape == (6, 64, 64, 3)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert np.array_equal(images[4].numpy(), items[1][1])


def test_jpeg_records_decode(records):
    image = records[0].decode()
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert ok
    decoded = CropRecord(
        image_bytes=buf.tobytes(), landmarks=records[0].landmarks, video_id="j"
    ).decode()
    assert decoded.shape == image.shape and np.abs(decoded.astype(int) - image).mean() < 8

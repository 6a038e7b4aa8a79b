"""Benchmark: the real-vs-real references of the image metrics, and their cost.

With the shipped classifier (``assets/models/mnist_classifier.pt``), N real *train* digits (a
fixed random choice) are scored against the 1,000 bundled *test* digits, exactly as
``classifier.evaluate_images`` scores generated digits: this is the floor of FID, KID and the
class-histogram TV, and the ceiling of the classifier score, precision and recall, at that N.
Also printed: the classifier's accuracy and score on the test digits themselves, and the seconds
one evaluation takes (the first includes computing the reference, later ones reuse it).

    python benchmarks/bench_metric_floors.py [--n 1000] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from gan_course import classifier, data, metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=classifier.EVAL_N, help="real train digits per evaluation")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model = classifier.load_classifier()
    meta = classifier.classifier_meta()
    x_test, y_test = data.mnist("test", source="bundled")
    probs, _ = classifier.predict(model, x_test)
    print(f"classifier: {meta['command']} (torch {meta['torch_version']}, {meta['train_seconds']} s to train)")
    print(f"test split (1000 digits): accuracy {classifier.accuracy(model, x_test, y_test):.3f}, "
          f"classifier score {metrics.classifier_score(probs):.3f}, "
          f"score in 10 splits {metrics.classifier_score(probs, splits=10):.3f}")

    x_train, y_train = data.mnist("train", source="bundled")
    rows = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(classifier.REFERENCE_SEED))[:args.n]
    for attempt in ("first (computes the reference)", "second (reference cached)"):
        start = time.perf_counter()
        result = classifier.evaluate_images(x_train[rows], value_range=(0, 1), y_requested=y_train[rows])
        print(f"evaluate_images, N={args.n}, {attempt}: {time.perf_counter() - start:.2f} s")
    print()
    print(f"real train digits vs real test digits (N={args.n}; value = real here):")
    print(classifier.format_report(result))


if __name__ == "__main__":
    main()

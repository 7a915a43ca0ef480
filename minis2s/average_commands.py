"""`minis2s average`: the mean of the parameters of checkpoints of one run, given one by one
(--checkpoint) or as the newest K that --keep-checkpoints kept in a run (--run RUN --last K),
written as a new checkpoint (train/average.py)."""

from __future__ import annotations

import argparse


def average(args: argparse.Namespace) -> int:
    import os

    from minis2s.load_run import a_file
    from minis2s.train.average import average, average_last, last_kept

    for path in args.checkpoint or ():  # a checkpoint's state.json, a run's log.jsonl
        if os.path.isfile(path):
            raise NotADirectoryError(a_file(path, runs=False))
    if args.run is not None and os.path.isfile(args.run):  # its log.jsonl: said no directory
        holder = os.path.dirname(args.run) or "."
        raise NotADirectoryError(f"--run {args.run} is a file, not a run directory: give the run "
                                 f"that holds it, --run {holder}")  # fmt: skip
    if args.run is not None:
        if args.last is None:
            raise ValueError(f"--run {args.run}: give --last K, how many of its newest kept "
                             "checkpoints (steps/) to average")  # fmt: skip
        if args.last == 1:  # the run's own checks first: then the one it would average
            (newest,) = last_kept(args.run, 1)
            raise ValueError(f"--last 1: a mean needs two or more checkpoints; give --last 2 "
                             "or more, and a copy of the newest is `cp -r "
                             f"{newest} {args.out}`")  # fmt: skip
        paths = average_last(args.run, args.last, args.out)  # picked again if the run trims
    elif args.last is not None:
        raise ValueError("--last K counts the checkpoints kept in a run's steps/: give --run RUN "
                         "with it, or leave it out with --checkpoint")  # fmt: skip
    else:
        paths = args.checkpoint
        if len(paths) == 1:
            raise ValueError(f"--checkpoint {paths[0]} given once: a mean needs two or more; "
                             "give --checkpoint again for each, and a copy of one is `cp -r "
                             f"{paths[0]} {args.out}`")  # fmt: skip
        average(paths, args.out)
    out = args.out
    print(f"{out}: the mean of {len(paths)} checkpoint{'s' * (len(paths) > 1)} "
          f"({', '.join(paths)}); try: minis2s evaluate --checkpoint {out} ...")  # fmt: skip
    return 0

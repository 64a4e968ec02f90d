"""Load a JSONL file of contacts with dlt, merging on `id` (default) or
replacing the table (`replace`, for bench/refresh).

Used by bench/pull and bench/refresh to measure dlt side by side with
einklang. Usage: dlt_load.py DESTINATION JSONL WORKDIR [merge|replace].
`replace` is `write_disposition="replace"` with dlt's default replace
strategy (`truncate-and-insert`). Configured as
dlt documents for speed: `loader_file_format="parquet"` for DuckDB, two
normalize workers, rows yielded in batches. Prints one JSON line:
{"tool": "dlt", "destination": ..., "mode": ..., "records": N, "seconds": S}.
"""

import json
import os
import sys
import time

os.environ.setdefault("NORMALIZE__WORKERS", "2")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt  # noqa: E402


def contacts(path, batch=10_000):
    rows = []
    with open(path, "rb") as f:
        for line in f:
            rows.append(json.loads(line))
            if len(rows) == batch:
                yield rows
                rows = []
    if rows:
        yield rows


def main():
    destination, path, workdir = sys.argv[1], sys.argv[2], sys.argv[3]
    mode = sys.argv[4] if len(sys.argv) > 4 else "merge"
    if mode not in ("merge", "replace"):
        sys.exit(f"mode must be merge or replace, not {mode!r}")
    resource = dlt.resource(
        contacts(path),
        name="contacts",
        primary_key="id",
        write_disposition=mode,
    )
    if destination == "duckdb":
        dest = dlt.destinations.duckdb(os.path.join(workdir, "dlt.duckdb"))
        fmt = "parquet"
    else:
        dest = dlt.destinations.postgres(os.environ["EINKLANG_BENCH_PG_DLT"])
        fmt = None  # postgres' default insert_values; parquet is not supported there
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{destination}" if mode == "merge" else f"bench_{destination}_{mode}",
        pipelines_dir=os.path.join(workdir, "dlt_pipelines"),
        destination=dest,
        dataset_name="bench",
    )
    started = time.monotonic()
    pipeline.run(resource, loader_file_format=fmt)
    seconds = time.monotonic() - started
    count = sum(1 for _ in open(path, "rb"))
    print(json.dumps({"tool": "dlt", "destination": destination, "mode": mode, "records": count, "seconds": seconds}))


if __name__ == "__main__":
    main()

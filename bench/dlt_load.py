"""Load a JSONL file of contacts with dlt, merging on `id`.

Used by bench/pull to measure dlt side by side with einklang. Configured as
dlt documents for speed: `loader_file_format="parquet"` for DuckDB, two
normalize workers, rows yielded in batches. Prints one JSON line:
{"tool": "dlt", "destination": ..., "records": N, "seconds": S}.
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
    resource = dlt.resource(
        contacts(path),
        name="contacts",
        primary_key="id",
        write_disposition="merge",
    )
    if destination == "duckdb":
        dest = dlt.destinations.duckdb(os.path.join(workdir, "dlt.duckdb"))
        fmt = "parquet"
    else:
        dest = dlt.destinations.postgres(os.environ["EINKLANG_BENCH_PG_DLT"])
        fmt = None  # postgres' default insert_values; parquet is not supported there
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{destination}",
        pipelines_dir=os.path.join(workdir, "dlt_pipelines"),
        destination=dest,
        dataset_name="bench",
    )
    started = time.monotonic()
    pipeline.run(resource, loader_file_format=fmt)
    seconds = time.monotonic() - started
    count = sum(1 for _ in open(path, "rb"))
    print(json.dumps({"tool": "dlt", "destination": destination, "records": count, "seconds": seconds}))


if __name__ == "__main__":
    main()

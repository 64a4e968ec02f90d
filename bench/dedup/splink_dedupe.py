"""Deduplicate a febrl_export.py CSV with Splink 5 (DuckDB) and score it.

Usage: splink_dedupe.py CSV [--pairs FILE] [--clusters FILE] [--low P]
(run_splink.sh adds the peak RSS)

The model is Splink's own FEBRL3 dedupe example (docs/demos/examples/
duckdb/febrl3 in the Splink repository), with FEBRL's given_name/surname
called first_name/last_name here: the same prediction blocking rules,
comparisons, deterministic rules for the prior, u by random sampling and
two EM sessions (blocked on date_of_birth, then postcode). Only the
thresholds differ from the demo's 0.2: Splink predicts at P (default
0.01), and splink_report.py scores the pairs at match probability 0.9 and
at the best threshold chosen on the labels.

Prints two JSON lines (metrics.py's keys, tools "splink" and
"splink-best"; splink_report.py says what else they hold); `seconds`
covers building the linker, training and prediction, not imports, reading
the CSV or scoring. Splink's own log goes to stderr.
"""

import logging
import time

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from splink_report import args, predict_and_report


def main():
    opts = args(__doc__)
    path = opts.csv

    # every column as text; DuckDB reads empty fields as NULL, which Splink
    # treats as "no information" (the null level of each comparison)
    con = duckdb.connect()
    df = con.read_csv(path, all_varchar=True)

    started = time.monotonic()
    db_api = DuckDBAPI(connection=con)
    blocking_rules = [
        block_on("soc_sec_id"),
        block_on("first_name"),
        block_on("last_name"),
        block_on("date_of_birth"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
    )
    linker = Linker(db_api.register(df), settings, log_level=logging.WARNING)

    # the prior: pairs these near-certain rules find, assumed 90 % of all
    linker.training.estimate_probability_two_random_records_match(
        [
            block_on("soc_sec_id"),
            block_on("first_name", "last_name", "date_of_birth"),
            "l.first_name = r.last_name and l.last_name = r.first_name"
            " and l.date_of_birth = r.date_of_birth",
        ],
        recall=0.9,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    predict_and_report(linker, opts, started)


if __name__ == "__main__":
    main()

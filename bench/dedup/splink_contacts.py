"""Deduplicate an `einklang-gen dupes` CSV with Splink 5 (DuckDB) and score it.

Usage: splink_contacts.py CSV [--pairs FILE] [--clusters FILE] [--low P]
(run_splink.sh adds the peak RSS)

Splink's documented dedupe recipe (the FEBRL and "fake_1000" examples of
the Splink repository) applied to the generated contacts' columns, with
the cleaning its docs ask for done in DuckDB first: e-mail lower-cased,
phone reduced to digits in international form (00 and the German trunk 0
turned into the country code). Comparisons: NameComparison on first and
last name, EmailComparison, DateOfBirthComparison, exact phone with term
frequencies, Jaro-Winkler on company and street, exact postcode with term
frequencies. Prior from deterministic rules (e-mail; name and birthday),
u by random sampling, EM blocked on e-mail, then on postcode. Splink
predicts at P (default 0.01); splink_report.py scores the pairs at
match probability 0.9, as for einklang, and at the best threshold chosen
on the labels.

Prints two JSON lines (metrics.py's keys, tools "splink" and
"splink-best"; splink_report.py says what else they hold); `seconds`
covers cleaning, building the linker, training and prediction, not
imports, reading the CSV or scoring.
"""

import logging
import time

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from splink_report import args, predict_and_report

CLEAN = """
select id, first_name, last_name, lower(trim(email)) as email,
  case
    when p like '00%' then substr(p, 3)
    when p like '0%' then '49' || substr(p, 2)
    else p
  end as phone,
  company, street, postcode, date_of_birth
from (select *, nullif(regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'), '') as p from raw)
"""


def main():
    opts = args(__doc__)
    path = opts.csv
    con = duckdb.connect()
    con.read_csv(path, all_varchar=True).create_view("raw")

    started = time.monotonic()
    df = con.sql(CLEAN)
    db_api = DuckDBAPI(connection=con)
    settings = SettingsCreator(
        unique_id_column_name="id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone"),
            block_on("first_name", "postcode"),
            block_on("last_name", "postcode"),
            block_on("last_name", "street"),
        ],
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.EmailComparison("email"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y-%m-%d"),
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("company", [0.9]),
            cl.JaroWinklerAtThresholds("street", [0.9]),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
    )
    linker = Linker(db_api.register(df), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("first_name", "last_name", "date_of_birth")],
        recall=0.8,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("email"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    predict_and_report(linker, opts, started)


if __name__ == "__main__":
    main()

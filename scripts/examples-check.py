#!/usr/bin/env python3
"""Check, field by field, that an example's hub holds what the emulator
holds. Called by scripts/examples.sh after the example's syncs:

    scripts/examples-check.py kommo-leads   EXAMPLE_DIR EMULATOR_URL
    scripts/examples-check.py espo-advoware EXAMPLE_DIR EMULATOR_URL

The expected hub values are worked out here, independently of einklang,
from the records the emulator's control routes list (`/_emulator/…/list`);
the hub is read from the example's SQLite store. Every difference is
reported with the record and the field; the exit code is 1 if there is any."""
import datetime, json, re, sqlite3, sys, urllib.request

mode, folder, emu = sys.argv[1:4]
problems = []


def fetch(path):
    with urllib.request.urlopen(emu + path, timeout=10) as r:
        return json.load(r)


def hub(connector):
    """Live hub records linked to `connector`: external id → (hub id, values)."""
    db = sqlite3.connect(f"{folder}/einklang.db")
    rows = db.execute(
        "SELECT l.external_id, r.id, r.vals FROM links l JOIN records r ON r.id = l.record_id "
        "WHERE l.connector = ? AND r.deleted_at IS NULL AND r.merged_into IS NULL", (connector,))
    return {ext: (rid, json.loads(vals)) for ext, rid, vals in rows}


def compare(what, want, have, fields):
    for f in fields:
        w, h = want.get(f), have.get(f)
        if isinstance(w, float) or isinstance(h, float):
            same = w is not None and h is not None and abs(float(w) - float(h)) < 1e-9
        else:
            same = w == h
        if not same:
            problems.append(f"{what}: field `{f}`: the emulator holds {w!r}, the hub {h!r}")


def epoch(v):
    if v is None:
        return None
    return datetime.datetime.fromtimestamp(int(v), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def kommo_leads():
    out_of_scope = {143, 79790631, 91703923}
    year = (1735689600, 1767225600)  # created in 2025
    records = hub("kommo")
    leads = {str(l["id"]): l for l in fetch("/_emulator/leads/list")}
    fields = ["name", "status_id", "price", "start_at", "end_at", "vehicle", "vehicle_enum_id",
              "source", "contact_id", "created_at", "updated_at"]
    for lid, lead in leads.items():
        what = f"kommo lead {lid} ({lead['name']!r})"
        in_scope = year[0] <= lead["created_at"] < year[1] and lead["status_id"] not in out_of_scope
        if not in_scope:
            if lid in records:
                problems.append(f"{what}: status {lead['status_id']}, created {epoch(lead['created_at'])}: out of scope, but the hub holds it as booking {records[lid][0]}")
            continue
        if lid not in records:
            problems.append(f"{what}: in scope, but not in the hub")
            continue
        cf = {e["field_id"]: (e.get("values") or [{}])[0] for e in lead.get("custom_fields_values") or []}
        main = [c["id"] for c in lead.get("_embedded", {}).get("contacts", []) if c.get("is_main")]
        want = {
            "name": lead["name"], "status_id": lead["status_id"], "price": lead["price"],
            "start_at": epoch(cf.get(1218176, {}).get("value")),
            "end_at": epoch(cf.get(1218178, {}).get("value")),
            "vehicle": cf.get(1234163, {}).get("value"),
            "vehicle_enum_id": cf.get(1234163, {}).get("enum_id"),
            "source": cf.get(823206, {}).get("value"),
            "contact_id": str(main[0]) if main else None,
            "created_at": epoch(lead["created_at"]), "updated_at": epoch(lead["updated_at"]),
        }
        want = {k: v for k, v in want.items() if v not in (None, "")}
        rid, have = records[lid]
        compare(f"{what} = booking {rid}", want, have, fields)
        extra = set(have) - set(fields)
        if extra:
            problems.append(f"{what} = booking {rid}: unexpected hub fields {sorted(extra)}")
    for lid in set(records) - set(leads):
        problems.append(f"booking {records[lid][0]}: linked to kommo lead {lid}, which the emulator does not have")
    return len(leads)


def phone(raw):
    """E.164 for a German-region number, or the raw text when it is none
    (einklang keeps such a value flagged)."""
    text = raw.strip()
    digits = re.sub(r"[\s/()\-.]", "", text)
    if not re.fullmatch(r"\+?\d+", digits):
        return {"invalid": text}
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = "+49" + digits[1:]
    elif not digits.startswith("+"):
        return {"invalid": text}
    return digits if len(digits) >= 9 else {"invalid": text}


def flag(v):
    """A hub list element as comparable: a flagged one as {"invalid": raw}."""
    return {"invalid": v["invalid"]} if isinstance(v, dict) else v


def espo_advoware():
    salutation = {"Mr.": "Herr", "Ms.": "Frau"}
    kinds = {"emails": {4, 8, 11}, "phones": {1, 6}, "mobiles": {3, 9}, "faxes": {2, 7}}
    espo_types = {"phones": {"Office", "Home"}, "mobiles": {"Mobile"}, "faxes": {"Fax"}}
    lists = list(kinds)
    by_espo, by_advo = hub("espo"), hub("advo")
    contacts = fetch("/_emulator/espo/list?entity=Contact")
    beteiligte = fetch("/_emulator/advoware/list")
    for c in contacts:
        what = f"espo Contact {c['id']} ({c.get('name')!r})"
        if c["id"] not in by_espo:
            problems.append(f"{what}: not in the hub")
            continue
        rid, have = by_espo[c["id"]]
        data = sorted(c.get("emailAddressData") or [], key=lambda e: not e.get("primary"))
        sal = c.get("salutationName")
        want = {
            "first_name": c.get("firstName"), "last_name": c.get("lastName"), "title": c.get("title"),
            "salutation": salutation.get(sal, sal),
            "emails": [e["emailAddress"].strip().lower() for e in data],
        }
        for field, types in espo_types.items():
            want[field] = [phone(p["phoneNumber"]) for p in c.get("phoneNumberData") or [] if p.get("type") in types]
        want = {k: v for k, v in want.items() if v not in (None, "", [])}
        have = {k: ([flag(x) for x in v] if k in lists else v) for k, v in have.items()}
        for f in ["phones", "mobiles", "faxes"]:  # no order is kept across types
            for d in (want, have):
                if f in d:
                    d[f] = sorted(d[f], key=json.dumps)
        compare(f"{what} = hub contact {rid}", want, have,
                ["first_name", "last_name", "title", "salutation", "emails", "phones", "mobiles", "faxes"])
    for b in beteiligte:
        bet = str(b["betNr"])
        what = f"advoware Beteiligter {bet} ({b.get('vorname') or ''} {b.get('name')})".replace("( ", "(")
        if bet not in by_advo:
            problems.append(f"{what}: not in the hub")
            continue
        rid, have = by_advo[bet]
        birthday = (b.get("geburtsdatum") or "")[:10]
        want = {
            "first_name": b.get("vorname"), "last_name": b.get("name"), "title": b.get("titel"),
            "salutation": b.get("anrede"), "birthday": birthday, "rechtsform": b.get("rechtsform"),
            "b_anrede": b.get("bAnrede"), "zusatz": b.get("zusatz"),
        }
        want = {k: v for k, v in want.items() if v not in (None, "")}
        compare(f"{what} = hub contact {rid}", want, have,
                ["first_name", "last_name", "title", "salutation", "birthday", "rechtsform", "b_anrede", "zusatz"])
        # Kommunikationen are read, not written: each of Advoware's entries
        # is in the hub's list of its kind (which may hold more, from Espo)
        for k in b.get("kommunikation") or []:
            field = next((f for f, kz in kinds.items() if k["kommKz"] in kz), None)
            if field is None:
                continue
            value = k["tlf"].strip().lower() if field == "emails" else phone(k["tlf"])
            held = [flag(x) for x in have.get(field, [])]
            if value not in held:
                problems.append(f"{what} = hub contact {rid}: field `{field}`: Advoware's kommunikation {k['id']} (kommKz {k['kommKz']}) {k['tlf']!r} is not in the hub's {held!r}")
    # every live hub contact is in both systems, once
    for rid in {r for r, _ in by_espo.values()} ^ {r for r, _ in by_advo.values()}:
        problems.append(f"hub contact {rid}: linked to only one of EspoCRM and Advoware")
    return len(contacts) + len(beteiligte)


checked = {"kommo-leads": kommo_leads, "espo-advoware": espo_advoware}[mode]()
if problems:
    print(f"{mode}: the hub does not hold what the emulator holds:", file=sys.stderr)
    for p in problems:
        print(f"  {p}", file=sys.stderr)
    sys.exit(1)
print(f"{mode}: hub matches the emulator field by field ({checked} records checked)")

"""Personal data in free text is found by what can be checked, and masked saying what it was;
amounts, dates, references and CFPB's own masks are left as written."""

from __future__ import annotations

import csv
import re

import pytest
from conftest import CFPB_SAMPLE
from hypothesis import given, settings
from hypothesis import strategies as st

from complaints.pii import CARD, EMAIL, IBAN, NAME, NATIONAL_ID, PHONE, Finding, find, mask, mask_values

ENGLISH = (
    "Dear Sir or Madam, on 14/03/2026 you took £1,250.00 from my account twice. My name is Margaret "
    "Thompson, my National Insurance number is JG 10 37 59 A and you can reach me on 07911 123456 or "
    "margaret.thompson@example.co.uk. Please refund it to GB82 WEST 1234 5698 7654 32. The card "
    "4111 1111 1111 1111 was blocked at 10:30 on 2026-03-15, and my complaint C-2026-000123 was closed "
    "without a reply. Regards, Margaret Thompson"
)
ENGLISH_MASKED = (
    "Dear Sir or Madam, on 14/03/2026 you took £1,250.00 from my account twice. My name is [name], "
    "my National Insurance number is [national id] and you can reach me on [phone] or [email]. Please "
    "refund it to [iban]. The card [card] was blocked at 10:30 on 2026-03-15, and my complaint "
    "C-2026-000123 was closed without a reply. Regards, [name]"
)
LATVIAN = (
    "Labdien! 2026. gada 12. martā no mana konta LV80BANK0000435195001 bez manas atļaujas tika noņemti "
    "1 250,00 EUR. Mans personas kods ir 161175-19997, tālrunis +371 2612 3456, e-pasts "
    "janis.berzins@inbox.lv. Lūdzu atmaksāt līdz 31.03.2026. Iepriekšējās sūdzības numurs C-2026-000045. "
    "Ar cieņu, Jānis Bērziņš"
)
LATVIAN_MASKED = (
    "Labdien! 2026. gada 12. martā no mana konta [iban] bez manas atļaujas tika noņemti 1 250,00 EUR. "
    "Mans personas kods ir [national id], tālrunis [phone], e-pasts [email]. Lūdzu atmaksāt līdz "
    "31.03.2026. Iepriekšējās sūdzības numurs C-2026-000045. Ar cieņu, [name]"
)
GREEK = (
    "Καλησπέρα σας. Στις 12/03/2026 χρεώθηκα 1.250,00 € στην κάρτα μου 5500-0000-0000-0004 χωρίς να το "
    "έχω εγκρίνει. Ο ΑΜΚΑ μου είναι 01013099997 και ο Α.Φ.Μ. 094259216. Παρακαλώ επικοινωνήστε μαζί μου "
    "στο 691 234 5678 ή στο maria.papadopoulou@example.gr. IBAN για επιστροφή: "
    "GR16 0110 1250 0000 0001 2300 695. Αριθμός αναφοράς C-2026-000078. ΜΑΡΙΑ ΠΑΠΑΔΟΠΟΥΛΟΥ"
)
GREEK_MASKED = (
    "Καλησπέρα σας. Στις 12/03/2026 χρεώθηκα 1.250,00 € στην κάρτα μου [card] χωρίς να το έχω "
    "εγκρίνει. Ο ΑΜΚΑ μου είναι [national id] και ο Α.Φ.Μ. [national id]. Παρακαλώ επικοινωνήστε μαζί "
    "μου στο [phone] ή στο [email]. IBAN για επιστροφή: [iban]. Αριθμός αναφοράς C-2026-000078. [name]"
)


@pytest.mark.parametrize(("text", "name", "masked"), [
    (ENGLISH, "Margaret Thompson", ENGLISH_MASKED),
    (LATVIAN, "Jānis Bērziņš", LATVIAN_MASKED),
    (GREEK, "Μαρία Παπαδοπούλου", GREEK_MASKED),
], ids=["english", "latvian", "greek"])
def test_a_complaint_narrative_is_masked_and_keeps_its_amounts_dates_and_references(
    text: str, name: str, masked: str
) -> None:
    assert mask(text, names=[name]) == masked


@pytest.mark.parametrize(("text", "kind", "found"), [
    ("write to anna.berzina+bank@example.co.uk today", EMAIL, "anna.berzina+bank@example.co.uk"),
    ("rakstiet uz jānis@pasts.lv", EMAIL, "jānis@pasts.lv"),
    ("call (202) 555-0147 after five", PHONE, "(202) 555-0147"),
    ("ring 020 7946 0958 please", PHONE, "020 7946 0958"),
    ("or +44 20 7946 0958.", PHONE, "+44 20 7946 0958"),
    ("zvaniet 26 123 456", PHONE, "26 123 456"),
    ("στο 6912345678", PHONE, "6912345678"),
    ("στο +30 210 123 4567", PHONE, "+30 210 123 4567"),
    ("bana 0532 123 45 67 numarasından", PHONE, "0532 123 45 67"),
    ("a number abroad, +49 30 901820", PHONE, "+49 30 901820"),
    ("IBAN LV80 BANK 0000 4351 9500 1 please", IBAN, "LV80 BANK 0000 4351 9500 1"),
    ("to GB82WEST12345698765432 ON MONDAY", IBAN, "GB82WEST12345698765432"),
    ("to GB82 WEST 1234 5698 7654 32 ON MONDAY", IBAN, "GB82 WEST 1234 5698 7654 32"),
    ("card 4111-1111-1111-1111 was", CARD, "4111-1111-1111-1111"),
    ("card 4111111111111111 was", CARD, "4111111111111111"),
    ("Amex 3782 822463 10005 was", CARD, "3782 822463 10005"),
    ("old Latvian code 161175-19997", NATIONAL_ID, "161175-19997"),
    ("new Latvian code 328673-00679", NATIONAL_ID, "328673-00679"),
    ("personas kodu 16117519997 norādīju", NATIONAL_ID, "16117519997"),
    ("NI number AB 12 34 56 C on file", NATIONAL_ID, "AB 12 34 56 C"),
    ("it is JG103759A", NATIONAL_ID, "JG103759A"),
    ("my NI number: JG 10 37 59 (no letter)", NATIONAL_ID, "JG 10 37 59"),
    ("ΑΜΚΑ: 01013099997", NATIONAL_ID, "01013099997"),
    ("AFM 094259216", NATIONAL_ID, "094259216"),
    ("T.C. kimlik no 17291716060", NATIONAL_ID, "17291716060"),
    ("SSN 536-90-4399", NATIONAL_ID, "536-90-4399"),
], ids=lambda v: v if v in (EMAIL, PHONE, IBAN, CARD, NATIONAL_ID) else "")
def test_each_kind_of_personal_data_is_found_where_it_stands(text: str, kind: str, found: str) -> None:
    start = text.index(found)
    assert find(text) == [Finding(kind, start, start + len(found))]


@pytest.mark.parametrize("text", [
    "I paid $1,250.00 on 03/14/2023 and {$100.00} on XX/XX/XXXX; my loan is XXXX XXXX XXXX.",
    "Summa 1 250,00 EUR tika noņemta 12.03.2026 plkst. 10:30; ποσό 1.250,00 € στις 12/03/2026.",
    "Complaints C-2026-000123 and C-2026-001045 were closed on 2026-03-15T10:30:00+00:00.",
    "Received at 2026-12-05T20:31:27.512626+00:00 and 2026-12-05 20:31:29.804417+00:00.",
    "The interest rate was 265.55500 % and 1234567 points.",
    "IBAN LV80 BANK 0000 4351 9500 2 fails its checksum, and so does GB82 WEST 1234 5698 7654 33.",
    "Card 4111 1111 1111 1112 fails the Luhn check.",
    "Order 094259216 and parcel 01013099997 carry no label.",
    "QQ 12 34 56 C and GB 12 34 56 A are never issued; D1 12 34 56 is no number at all.",
    "Receipt 2023-0123-4567, policy PL-1234-567-890 and invoice 2026/000123/45 are references.",
], ids=["cfpb-masks", "european-amounts-and-dates", "references-and-timestamps",
        "timestamps-with-microseconds", "percentages",
        "ibans-failing-checksums", "card-failing-luhn", "unlabelled-numbers", "unissued-ni-prefixes",
        "identifier-fragments"])
def test_numbers_that_are_not_personal_data_are_left_as_written(text: str) -> None:
    assert find(text) == [] and mask(text) == text


def test_a_latvian_code_that_fails_its_checks_is_no_national_id() -> None:
    text = "Code 161375-19997 has no 13th month; 161175-19998 fails its check digit."
    assert NATIONAL_ID not in {f.kind for f in find(text)}


@pytest.mark.parametrize("text", [
    "Dear Anna Bērziņa,", "Mrs ANNA BĒRZIŅA called", "Anna  Berzina wrote", "signed: Bērziņa", "anna again",
])
def test_the_customers_name_is_masked_whatever_its_case_spacing_or_accents(text: str) -> None:
    assert {f.kind for f in find(text, names=["Anna Bērziņa"])} == {NAME}
    assert not re.search("(?i)anna|b[eē]rzi", mask(text, names=["Anna Bērziņa"]))


def test_another_persons_name_a_letter_apart_is_not_the_customers() -> None:
    assert mask("Annas Bērziņš and Annija wrote", names=["Anna Bērziņa"]) == "Annas Bērziņš and Annija wrote"


def test_a_particle_in_small_letters_is_not_taken_for_a_name() -> None:
    assert mask("the van came; Ludwig van Beethoven called", names=["Ludwig van Beethoven"]) == "the van came; [name] called"


def test_greek_names_match_in_capitals_without_accents() -> None:
    assert mask("Η κα ΠΑΠΑΔΟΠΟΥΛΟΥ και η Μαρία", names=["Μαρία Παπαδοπούλου"]) == "Η κα [name] και η [name]"


def test_the_name_mask_can_say_why_the_name_is_gone() -> None:
    assert mask("Dear Anna Bērziņa, call 07911 123456", ["Anna Bērziņa"], "[name erased]") == "Dear [name erased], call [phone]"


def test_every_string_in_a_json_document_is_masked_and_the_rest_kept() -> None:
    payload = {"description": "call +371 2612 3456", "count": 3, "when": "2026-03-12",
               "assessment": {"criteria": ["mail a@b.lv", "in time"], "by": "hana", "ok": True}, "pair": ("x@y.gr", 1)}
    assert mask_values(payload) == {"description": "call [phone]", "count": 3, "when": "2026-03-12",
                                    "assessment": {"criteria": ["mail [email]", "in time"], "by": "hana", "ok": True},
                                    "pair": ("[email]", 1)}


_FRAGMENTS = [ENGLISH, LATVIAN, GREEK, "07911 123456", "+371 2612 3456", "{$100.00}", "XX/XX/XXXX", "C-2026-000123",
              "4111 1111 1111 1111", "LV80BANK0000435195001", "a@b.lv", "12.03.2026", "1 250,00 EUR", "Anna", "161175-19997"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=6), st.sampled_from([" ", "\n", ", ", "/", "-", ""]))
def test_masking_masked_text_changes_nothing(parts: list[str], glue: str) -> None:
    once = mask(glue.join(parts), names=["Anna Bērziņa"])
    assert mask(once, names=["Anna Bērziņa"]) == once


_CFPB_MASKS = re.compile(r"X{2}/X{2}/X{2,4}|\{\$[\d,.]+\}")


@pytest.mark.skipif(not CFPB_SAMPLE.exists(), reason=f"{CFPB_SAMPLE} is not there")
def test_real_cfpb_narratives_keep_their_masked_dates_and_amounts_and_mask_idempotently() -> None:
    with CFPB_SAMPLE.open(encoding="utf-8", newline="") as f:
        narratives = [row["Consumer complaint narrative"] for row in csv.DictReader(f)]
    assert len(narratives) > 2000
    for text in narratives:
        once = mask(text)
        assert _CFPB_MASKS.findall(once) == _CFPB_MASKS.findall(text)
        assert mask(once) == once

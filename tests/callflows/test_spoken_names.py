"""Precinct names a voice can read: the rules on real 2020 names, and their doubts."""

from __future__ import annotations

import re

import pytest

from callflows.spoken_names import (
    ABBREVIATIONS,
    BEFORE_A_WORD,
    DIRECTIONS,
    KNOWN_ACRONYMS,
    read_name,
    spoken_name,
)
from tests.support.data import precinct_rows

DOUBTFUL_2020 = 125
"""How many of the 1,765 names of 2020 `hotline precincts spoken --check` lists (the
README records it)."""


@pytest.mark.parametrize(
    ("stored", "county", "spoken"),
    [
        # The three examples.
        ("PCT 8 ROCK RAPIDS", "Lyon", "Precinct 8 Rock Rapids"),
        ("(EL2) City of Eldridge", "Scott", "City of Eldridge 2"),
        (
            "CITY OF PLAINFIELD/POLK TWP/DOUGLAS TWP",
            "Bremer",
            "City of Plainfield, Polk Township and Douglas Township",
        ),
        # Directions glued to numbers, and codes that only abbreviate the next word.
        ("1NW ADAIR", "Adair", "1 Northwest Adair"),
        ("5GF GREENFIELD", "Adair", "5 Greenfield"),
        ("MN1-MONTICELLO 1", "Jones", "Monticello 1"),
        ("(D63) City of Davenport", "Scott", "City of Davenport 63"),
        ("(PKV) Park View", "Scott", "Park View"),
        ("PCT 04 - DEW2 (Decorah Ward 2)", "Winneshiek", "Precinct 4, Decorah Ward 2"),
        ("Charles City Corp/CC1", "Floyd", "Charles City Corporation 1"),
        ("DE/Decatur City", "Decatur", "Decatur City"),
        # Parentheses, dashes, slashes, hyphens.
        ("OSAGE 01 (Mitchell 5)", "Mitchell", "Osage 1, Mitchell 5"),
        ("Ames 1-3 - Grant Twp 2", "Story", "Ames 1 dash 3, Grant Township 2"),
        ("DES MOINES-36", "Polk", "Des Moines 36"),
        ("Florence-St Clair-Norway", "Benton", "Florence, Saint Clair and Norway"),
        ("Precinct #01-Little Sioux", "Harrison", "Precinct 1, Little Sioux"),
        ("Eagle Grove #4", "Wright", "Eagle Grove Number 4"),
        (
            "City of Russell- Cedar and Washington Townships",
            "Lucas",
            "City of Russell, Cedar and Washington Townships",
        ),
        # Abbreviations, directions, Roman numerals, fractions, ordinals.
        ("Mt. Pleasant Ward 3", "Henry", "Mount Pleasant Ward 3"),
        ("E&W DES MOINES - JEFFERSON", "Mahaska", "East and West Des Moines, Jefferson"),
        ("Oneida/N Fork/Bremen", "Delaware", "Oneida, North Fork and Bremen"),
        ("Dayton/English I", "Iowa", "Dayton and English 1"),
        (
            "WAVERLY WARD II/NE 1/4 SEC 36 WASHINGTON TWP",
            "Bremer",
            "Waverly Ward 2 and Northeast quarter of Section 36 Washington Township",
        ),
        (
            "Carroll Ward Two & N1/2 Maple River Twp",
            "Carroll",
            "Carroll Ward Two and North half of Maple River Township",
        ),
        ("Muscatine 01st", "Muscatine", "Muscatine 1st"),
        ("Evansdale W1", "Black Hawk", "Evansdale Ward 1"),
        ("Mason City W-2 P-3", "Cerro Gordo", "Mason City Ward 2 Precinct 3"),
        (
            "DSM-Cummins-Pow-N Garf-N Sherm-N Roose",
            "Pocahontas",
            "Des Moines, Cummins, Pow, North Garfield, North Sherman and North Roosevelt",
        ),
        # A county's own codes.
        ("CF W1 P1", "Black Hawk", "Cedar Falls Ward 1 Precinct 1"),
        ("WL 3-2", "Black Hawk", "Waterloo 3 dash 2"),
        # Satellites: the state in full, the site after a pause.
        (
            "Iowa City, IA - University of Iowa Hospitals & Clinics - 5:30pm",
            "CD2 Satellite",
            "Iowa City, Iowa, University of Iowa Hospitals and Clinics, 5:30 p.m.",
        ),
        (
            "St. Paul, MN - MLK Recreation Center",
            "Out of State Satellite",
            "Saint Paul, Minnesota, MLK Recreation Center",
        ),
    ],
)
def test_a_stored_name_becomes_words_a_voice_reads_well(
    stored: str, county: str, spoken: str
) -> None:
    assert spoken_name(stored, county) == spoken


@pytest.mark.parametrize(
    ("stored", "county", "spoken", "doubt"),
    [
        ("Pct 01 - WL/HV", "Allamakee", "Precinct 1, W L and H V", "letter by letter: WL, HV"),
        ("CF W1 P1", "", "C F Ward 1 Precinct 1", "letter by letter: CF"),
        ("SRL;LGB;RELS;MAP", "Buena Vista", "S R L, L G B, R E L S and M A P", "SRL, LGB"),
        ("ELK RIVER HAMPSHIRE ANDOV", "Clinton", "Elk River Hampshire Andov", "after 'ANDOV'"),
        ("FREMONT-LINCOLN (INCLUDES", "Johnson", "Fremont and Lincoln, Includes", "not closed"),
        ("MONTEZUMA - 11.11MO", "Poweshiek", "Montezuma, 11.11 M O", "with a point: 11.11"),
        ("Slater-Sheldahl-Pal 2", "Story", "Slater, Sheldahl and Pal 2", "shortened: Pal"),
        ("Plymouth 02/Mrhg", "Plymouth", "Plymouth 2 and M R H G", "letter by letter: MRHG"),
    ],
)
def test_what_the_rules_cannot_account_for_is_doubtful_with_a_reason(
    stored: str, county: str, spoken: str, doubt: str
) -> None:
    reading = read_name(stored, county)
    assert reading.spoken == spoken
    assert any(doubt in reason for reason in reading.doubts), reading.doubts


@pytest.mark.parametrize(
    "stored",
    [
        "PCT 8 ROCK RAPIDS",
        "(EL2) City of Eldridge",
        "CITY OF PLAINFIELD/POLK TWP/DOUGLAS TWP",
        "Des Moines, IA - Southside YMCA",
        "Osceola 2nd Ward Precinct",  # 25 characters, but whole
        "Big Creek La Porte",
    ],
)
def test_a_name_the_rules_account_for_is_not_doubtful(stored: str) -> None:
    assert read_name(stored).doubts == ()


def test_an_empty_name_is_doubtful() -> None:
    assert read_name("  ").doubts == ("the name is empty",)


def test_every_2020_name_gets_words_with_no_abbreviation_the_rules_know_left_in_them() -> None:
    rows = precinct_rows()
    assert len(rows) == 1765
    known = set(ABBREVIATIONS) | set(BEFORE_A_WORD) | {"pct", "twp", "no"}
    doubtful = 0
    for row in rows:
        reading = read_name(row["precinct"], row["county"])
        assert reading.spoken.strip(), row
        words = re.findall(r"\b[A-Za-z]+\b", reading.spoken)
        left = [
            word
            for word in words
            if word.lower() in known
            or (word.isupper() and len(word) > 1 and word not in KNOWN_ACRONYMS)
            or (word.lower() in DIRECTIONS and len(word) == 2)
        ]
        assert not left, (row["precinct"], reading.spoken, left)
        assert not re.search(r"[/;&#()_]", reading.spoken), (row["precinct"], reading.spoken)
        doubtful += bool(reading.doubts)
    assert doubtful == DOUBTFUL_2020

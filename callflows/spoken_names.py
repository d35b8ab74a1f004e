"""Precinct names a voice can read: the name as stored ("PCT 8 ROCK RAPIDS") turned into
words that text-to-speech says well ("Precinct 8 Rock Rapids"), and the doubts a person
should check before the night.

The rules, in the order they apply:

1. A satellite's "Town, ST - Site" says its state in full ("Ames, Iowa, ...").
2. A code that only abbreviates the words beside it goes, keeping its number:
   "(EL2) City of Eldridge" is "City of Eldridge 2", "MN1-MONTICELLO 1" is "Monticello 1",
   "5GF GREENFIELD" is "5 Greenfield", "DEW2 (Decorah Ward 2)" is "Decorah Ward 2". Other
   parentheses become a pause: "OSAGE 01 (Mitchell 5)" is "Osage 1, Mitchell 5".
3. Spaced dashes and commas are pauses; slashes, semicolons, "&" and hyphens between words
   make a list ("A/B/C" is "A, B and C"); a hyphen before a number is a space
   ("DES MOINES-36"); between numbers it is said ("Ames 1-3" is "Ames 1 dash 3", since a
   voice reads "1-3" as "one to three").
4. Abbreviations are spelled out (PCT, TWP, WD, CTY, SEC, ...); ST, MT and FT before a word
   are Saint, Mount and Fort; N, S, E, W, NE, NW, SE, SW next to a word or glued to a number
   are directions ("1NW" is "1 Northwest"), while among codes they stay letters; W1 and P1
   are Ward 1 and Precinct 1; Roman numerals after a word are numbers; "#3" is "Number 3";
   a county's own codes are its towns (Black Hawk's "CF W1 P1" is "Cedar Falls Ward 1
   Precinct 1").
5. Numbers lose their leading zeros ("01" is "1", "01st" is "1st"); ALL CAPS words become
   title case, while names already in mixed case keep theirs ("LeClaire").
6. What is left that no rule explains is a code, spaced letter by letter so a voice spells
   it ("WL/HV" is "W L and H V"), and the name is doubtful: so is a name with a short word
   that may be a shortening ("Pal 2"), an unclosed parenthesis, a number with a point in
   it, or a name cut off at 25 characters (as many of the 2020 file were) whose last word
   is not known to be whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STATES = {
    "AZ": "Arizona",
    "CA": "California",
    "DC": "District of Columbia",
    "FL": "Florida",
    "IA": "Iowa",
    "IL": "Illinois",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "NY": "New York",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "TN": "Tennessee",
    "VA": "Virginia",
    "WI": "Wisconsin",
}
"""States named by a satellite's "Town, ST - Site"."""

ABBREVIATIONS = {
    "pct": "Precinct",
    "precint": "Precinct",
    "twp": "Township",
    "twps": "Townships",
    "wd": "Ward",
    "cty": "County",
    "sec": "Section",
    "ctr": "Center",
    "grv": "Grove",
    "jct": "Junction",
    "corp": "Corporation",
    "inc": "Incorporated",
    "cthse": "Courthouse",
    "indep": "Independence",
    "prov": "Providence",
    "wash": "Washington",
    "linc": "Lincoln",
    "lncln": "Lincoln",
    "garf": "Garfield",
    "grfld": "Garfield",
    "sher": "Sherman",
    "sherm": "Sherman",
    "roose": "Roosevelt",
    "doug": "Douglas",
    "wloo": "Waterloo",
    "dsm": "Des Moines",
    "wdm": "West Des Moines",
}
"""Abbreviations whose meaning does not depend on their neighbours (lower case, no dot).
The township and town names among them are shortenings Iowa counties use."""

BEFORE_A_WORD = {"st": "Saint", "mt": "Mount", "ft": "Fort", "pl": "Pleasant"}
"""Abbreviations only when a word follows ("ST CLAIR", "Pl Valley"); alone they may be
codes ("PL/GF/ST/SX")."""

LOCAL_ABBREVIATIONS = {
    "Black Hawk": {"cf": "Cedar Falls", "wl": "Waterloo"},
    "Palo Alto": {"em": "Emmetsburg"},
}
"""Codes one county uses for its towns ("CF W1 P1", "WL 1-1"), which mean other things
elsewhere (Kossuth's "PR- WL"), so they apply only to that county's names."""

DIRECTIONS = {
    "n": "North",
    "s": "South",
    "e": "East",
    "w": "West",
    "ne": "Northeast",
    "nw": "Northwest",
    "se": "Southeast",
    "sw": "Southwest",
}
ROMAN_NUMERALS = {"I": "1", "II": "2", "III": "3", "IV": "4", "V": "5"}
FRACTIONS = {"2": "half", "4": "quarter"}
KNOWN_ACRONYMS = frozenset(
    {"CIEE", "CPL", "DMACC", "IBEW", "LULAC", "MLK", "RWDSU", "SWCC", "UAW", "UFCW", "YMCA"}
)
"""Initials a voice should spell and a listener knows (unions, colleges, the YMCA)."""

SHORT_WORDS = _words(
    """adel alta and ann at ayr bay big cass city clay coin coon cox day deep del des doon
    east eden elk fork four fox gay hale hill ida iowa lake lee linn lost low lyon may
    mile milo moor mott new of oak one oran oto park penn polk read red rock rome rose
    ross run sac salt six sun tama the two ute van ward west york zen"""
)
"""Words of four letters or fewer that are words, not codes, in an ALL CAPS name (where
case cannot tell "CASS" the township from "CGWS" the code), and words of three letters
or fewer in a mixed-case name (where "Pal" and "Pow" are shortened township names)."""
MINOR_WORDS = _words("and at for of the")
"""Words title case leaves in lower case after the first ("City of Denver")."""
MIXED_CASE_SHORT_WORDS = frozenset({"al", "de", "du", "el", "la", "le", "mc", "of"})
"""Two-letter words of mixed-case names ("Al Najah", "La Porte", "Le Mars")."""

WHOLE_LAST_WORDS = _words(
    """buren city fork horne joice linn mott precinct rural sharon sioux twps"""
)
"""Short last words of 25-character names in the 2020 file that are whole words."""
CUT_LENGTH = 25
"""Many 2020 names were cut at this many characters ("ELK RIVER HAMPSHIRE ANDOV")."""
MAX_CUT_WORD = 6
"""A cut name's last word is a short stub ("Unio", "CRYSTA"); a longer one is taken as
whole."""

_WORD = "word"
_NUMBER = "number"
_LETTER = "letter"
_CODE = "code"
_SUSPECT = "suspect"
"""A word that may be a shortening ("Pal 2"): said as written, but doubtful."""
_NUMBER_WORDS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"


@dataclass(frozen=True)
class Reading:
    """A stored name as a voice should say it, and why a person should check it, if so."""

    spoken: str
    doubts: tuple[str, ...] = ()


def spoken_name(name: str, county: str = "") -> str:
    """The words a text-to-speech voice should say for a stored precinct name."""
    return read_name(name, county).spoken


def read_name(name: str, county: str = "") -> Reading:
    """The spoken form of `name` (of a precinct in `county`, whose own codes it then
    knows) with the reasons a person should check it (none if the rules account for
    every part of it)."""
    text = " ".join(name.replace("_", " ").split())
    if not text:
        return Reading("", ("the name is empty",))
    doubts: list[str] = []
    all_caps = not any(char.islower() for char in text)
    satellite = _SATELLITE.match(text)
    if satellite:
        state = STATES.get(satellite["state"], satellite["state"])
        # Hyphenated words of a site ("Meth-Wick", "Harris-Hesli") are names, not lists.
        site = re.sub(r"(?<=\w)-(?=\w)", " ", satellite["site"])
        text = f"{satellite['town']}, {state} - {site}"
    if text.count("(") != text.count(")"):
        doubts.append("a parenthesis is not closed")
    text = _drop_explained_codes(text)
    if local := LOCAL_ABBREVIATIONS.get(county):
        text = re.sub(r"[A-Za-z]+", lambda word: local.get(word[0].lower(), word[0]), text)
    text = re.sub(r"\b([NSEW])\s*&\s*([NSEW])\b", _two_directions, text)
    found = _Found()
    parts = [_say_part(part, all_caps, found) for part in _PART_BREAK.split(text)]
    spoken = " ".join(", ".join(part for part in parts if part).split())
    if found.codes:
        doubts.append(f"read letter by letter: {', '.join(dict.fromkeys(found.codes))}")
    if found.suspects:
        doubts.append(f"may be shortened: {', '.join(dict.fromkeys(found.suspects))}")
    if found.points:
        doubts.append(f"a number with a point: {', '.join(found.points)}")
    last_word = re.findall(r"[A-Za-z]+", name)[-1:] or [""]
    cut = len(name.strip()) == CUT_LENGTH and len(last_word[0]) <= MAX_CUT_WORD
    if cut and last_word[0].lower() not in WHOLE_LAST_WORDS:
        doubts.append(f"{CUT_LENGTH} characters long: may be cut short after {last_word[0]!r}")
    if re.search(r"[^\w\s,.':]", spoken):
        doubts.append("punctuation is left in it")
    return Reading(spoken or name.strip(), tuple(doubts))


@dataclass
class _Found:
    """What the rules could not account for, gathered while a name is read."""

    codes: list[str] = field(default_factory=list)
    suspects: list[str] = field(default_factory=list)
    points: list[str] = field(default_factory=list)


def _two_directions(match: re.Match[str]) -> str:
    """The directions of "E&W DES MOINES": "East and West"."""
    return f"{DIRECTIONS[match[1].lower()]} and {DIRECTIONS[match[2].lower()]}"


_SATELLITE = re.compile(r"^(?P<town>[^,]+),? (?P<state>[A-Z]{2}) - (?P<site>.+)$")
_PART_BREAK = re.compile(r"\s+-\s*|\s*[,()]\s*|(?<=\d)-\s*(?=[A-Za-z#])|(?<=\d)- ")
_LIST_BREAK = re.compile(r"\s*[/;&]\s*|(?<=[A-Za-z.])-\s*(?=[A-Za-z])")
_CODE_TOKEN = r"[A-Z]{2,}\d*"


def _drop_explained_codes(text: str) -> str:
    """Rule 2: codes that only abbreviate the words beside them give way to those words."""
    leading = re.fullmatch(r"\(([A-Z]+\d*)\)\s*(.+)", text) or re.fullmatch(
        rf"({_CODE_TOKEN})\s*-\s*(.+)", text
    )
    if leading:
        code, rest = leading.groups()
        text = _without_code(code, rest) if _explains(rest, code) else text
    elif match := re.fullmatch(rf"(\d+)({_CODE_TOKEN})\s+(.+)", text):
        number, code, rest = match.groups()
        text = f"{number} {rest}" if _explains(rest, code) else text

    def explained_by_parenthesis(match: re.Match[str]) -> str:
        code, words = match.groups()
        return f" ({words})" if _explains(words, code) else match[0]

    text = re.sub(rf"\b({_CODE_TOKEN})\s*\(([^()]+)\)", explained_by_parenthesis, text)

    def explained_by_list(match: re.Match[str]) -> str:
        before, code = match.groups()
        return _without_code(code, before) if _explains(before, code) else match[0]

    # "Charles City Corp/CC1": the code names the list's first item.
    text = re.sub(rf"^([^/]+)/({_CODE_TOKEN})$", explained_by_list, text)
    # "DE/Decatur City": the code names the item after it.
    text = re.sub(
        r"(?:^|(?<=/))([A-Z]{2,})/([^/]+)",
        lambda m: m[2] if _explains(m[2], m[1]) else m[0],
        text,
    )
    return text.strip()


def _explains(words: str, code: str) -> bool:
    """Whether the letters of `code` are, in order, letters of `words` from its first
    letter ("EL" and "City of Eldridge", "PKV" and "Park View")."""
    letters = re.sub(r"[^a-z]", "", code.lower())
    # From the first word on ("AG" is not "IL-Armstrong"), past a leading "City of".
    lowered = re.sub(r"^city of\s+", "", words.strip().lower())
    return bool(letters) and lowered.startswith(letters[0]) and _is_subsequence(letters, lowered)


def _is_subsequence(letters: str, text: str) -> bool:
    remaining = iter(text)
    return all(letter in remaining for letter in letters)


def _without_code(code: str, words: str) -> str:
    """The words a code abbreviates, with the number the code carries unless the words
    already say it ("(EL2) City of Eldridge", "MN1-MONTICELLO 1")."""
    digits = re.sub(r"\D", "", code)
    if not digits or re.search(rf"\b0*{int(digits)}\b", words):
        return words
    return f"{words} {digits}"


def _say_part(part: str, all_caps: bool, found: _Found) -> str:
    part = _prepare(part)
    items = [item for item in _LIST_BREAK.split(part) if item.strip()]
    said = [item for item in (_say_item(item, all_caps, found) for item in items) if item]
    if len(said) <= 1:
        return "".join(said)
    if any(" and " in item for item in said):
        # "City of Russell- Cedar and Washington Townships": one "and" is enough.
        return ", ".join(said)
    return f"{', '.join(said[:-1])} and {said[-1]}"


def _prepare(part: str) -> str:
    """Rewrites that need the characters a list split would take apart."""
    part = re.sub(rf"\b({_NUMBER_WORDS})-(\w+)", r"\1 \2", part, flags=re.IGNORECASE)
    part = re.sub(r"(\d)\s*-\s*(?=\d)", r"\1 dash ", part)
    part = re.sub(r"\b([WP])-(?=\d)", r"\1", part)
    part = re.sub(r"(?<=[A-Za-z])-(?=\d)", " ", part)
    part = re.sub(
        r"\b(NE|NW|SE|SW|N|S|E|W)\s?1/([24])\b",
        lambda m: f"{DIRECTIONS[m[1].lower()]} {FRACTIONS[m[2]]} of",
        part,
        flags=re.IGNORECASE,
    )
    part = re.sub(r"\b(Precinct|PCT)\s*(?:#|No\.?\s)\s*(?=\d)", r"\1 ", part, flags=re.IGNORECASE)
    part = re.sub(r"(?:#|\bNo\.?\s)\s*(?=\d)", "Number ", part, flags=re.IGNORECASE)
    return re.sub(r"\bpt\.\s*", "part of ", part)


def _say_item(item: str, all_caps: bool, found: _Found) -> str:
    tokens = [piece for token in item.split() for piece in _unglue(token)]
    kinds = [_kind(token, all_caps) for token in tokens]
    words: list[str] = []
    for index, token in enumerate(tokens):
        before = kinds[index - 1] if index else ""
        after = kinds[index + 1] if index + 1 < len(kinds) else ""
        said = _say_token(token, kinds[index], before, after, all_caps)
        if said is None:
            found.codes.append(token.upper())
            said = " ".join(token.upper())
        elif kinds[index] == _SUSPECT:
            found.suspects.append(token)
        if re.fullmatch(r"\d+\.\d+", token):
            found.points.append(token)
        words.append(said)
    return " ".join(word for word in words if word)


def _unglue(token: str) -> list[str]:
    """Numbers glued to letters come apart ("1NW", "Hiawatha4", "W1", "10A"), except
    ordinals ("01st") and times ("7:45pm")."""
    if re.fullmatch(r"\d+(st|nd|rd|th)|\d{1,2}:\d{2}[ap]m", token, flags=re.IGNORECASE):
        return [token]
    return [piece for piece in re.split(r"(\d+(?:\.\d+)?)", token) if piece]


def _kind(token: str, all_caps: bool) -> str:
    bare = token.rstrip(".")
    if re.fullmatch(r"[\d.:]+\w*", token) and token[0].isdigit():
        return _NUMBER
    if len(bare) == 1:
        return _LETTER
    return _word_kind(bare, all_caps)


def _word_kind(bare: str, all_caps: bool) -> str:
    lower = bare.lower()
    if lower in ABBREVIATIONS or lower in BEFORE_A_WORD or bare in KNOWN_ACRONYMS:
        return _WORD
    if bare.islower() and bare.isalpha():
        return _WORD  # "at", "for", "township": mixed-case names write words in lower case
    if not re.search(r"[aeiouy]", lower) or not bare.replace("'", "").isalpha():
        return _CODE
    if bare.isupper():
        if all_caps:
            # Case says nothing here: a short word must be a known one.
            return _WORD if len(bare) > 4 or lower in SHORT_WORDS else _CODE
        # Capitals in a mixed-case name: a word if it can be said ("ONAWA Ward 1"),
        # initials if not ("UUFCC").
        sayable = len(bare) > 4 and not re.search(r"[^aeiouy]{3}", lower)
        return _WORD if sayable else _CODE
    if len(bare) <= 2:
        return _WORD if lower in MIXED_CASE_SHORT_WORDS else _CODE
    if len(bare) == 3 and lower not in SHORT_WORDS:
        return _SUSPECT
    return _WORD


def _say_token(token: str, kind: str, before: str, after: str, all_caps: bool) -> str | None:
    """The words for one token, or None for a code no rule explains."""
    bare = token.rstrip(".")
    lower = bare.lower()
    if kind == _NUMBER:
        return _say_number(token)
    if lower in BEFORE_A_WORD:
        return BEFORE_A_WORD[lower] if after == _WORD else None
    if lower == "rm" and after == _NUMBER:
        return "Room"
    if lower in ("w", "p") and after == _NUMBER and bare.isupper():
        return "Ward" if lower == "w" else "Precinct"
    if lower in DIRECTIONS and (_WORD in (before, after) or before == _NUMBER):
        return DIRECTIONS[lower]
    if bare in ROMAN_NUMERALS and before == _WORD:
        return ROMAN_NUMERALS[bare]
    if kind == _LETTER:
        # A letter beside a number is part of it ("Council Bluff 10A", "E300", "S-04").
        return bare.upper() if _NUMBER in (before, after) else None
    if kind == _CODE:
        return None
    if kind == _SUSPECT:
        return token
    if lower in ABBREVIATIONS:
        return ABBREVIATIONS[lower]
    if bare in KNOWN_ACRONYMS:
        return bare
    if token.islower() or (all_caps and lower in MINOR_WORDS and before):
        return token.lower()  # "CITY OF DENVER"; and the rules' own "dash", "part of"
    return token.capitalize() if all_caps or token.isupper() else token


def _say_number(token: str) -> str:
    if match := re.fullmatch(r"(\d+)(st|nd|rd|th)", token, flags=re.IGNORECASE):
        return f"{int(match[1])}{match[2].lower()}"
    if match := re.fullmatch(r"(\d{1,2}:\d{2})([ap])m", token, flags=re.IGNORECASE):
        return f"{match[1]} {match[2].lower()}.m."
    if token.isdigit():
        return str(int(token))
    return token

"""Facts for the cities-vs-states picture: the 50 US states and (city, state) pairs.

``CITY_IN_STATE`` are the 68 pairs of the ``city-in-state`` section of the Google analogy
set (so every city is one a Word2Vec model is tested on). Embeddings use lowercase single
tokens (text8's format): :func:`single_token` drops names of two words ("New York").
"""

from __future__ import annotations

STATES: tuple[str, ...] = (
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut",
    "Delaware", "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa",
    "Kansas", "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan",
    "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire",
    "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio",
    "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina", "South Dakota",
    "Tennessee", "Texas", "Utah", "Vermont", "Virginia", "Washington", "West Virginia",
    "Wisconsin", "Wyoming",
)

CITY_IN_STATE: tuple[tuple[str, str], ...] = (
    ("Akron", "Ohio"), ("Amarillo", "Texas"), ("Anaheim", "California"),
    ("Anchorage", "Alaska"), ("Arlington", "Texas"), ("Atlanta", "Georgia"),
    ("Austin", "Texas"), ("Bakersfield", "California"), ("Baltimore", "Maryland"),
    ("Boston", "Massachusetts"), ("Chandler", "Arizona"), ("Chicago", "Illinois"),
    ("Cincinnati", "Ohio"), ("Cleveland", "Ohio"), ("Dallas", "Texas"), ("Denver", "Colorado"),
    ("Detroit", "Michigan"), ("Fontana", "California"), ("Fremont", "California"),
    ("Fresno", "California"), ("Garland", "Texas"), ("Glendale", "Arizona"),
    ("Glendale", "California"), ("Henderson", "Nevada"), ("Hialeah", "Florida"),
    ("Honolulu", "Hawaii"), ("Houston", "Texas"), ("Huntsville", "Alabama"),
    ("Indianapolis", "Indiana"), ("Irvine", "California"), ("Irving", "Texas"),
    ("Jacksonville", "Florida"), ("Laredo", "Texas"), ("Lexington", "Kentucky"),
    ("Louisville", "Kentucky"), ("Lubbock", "Texas"), ("Madison", "Wisconsin"),
    ("Memphis", "Tennessee"), ("Mesa", "Arizona"), ("Miami", "Florida"),
    ("Milwaukee", "Wisconsin"), ("Minneapolis", "Minnesota"), ("Modesto", "California"),
    ("Nashville", "Tennessee"), ("Oakland", "California"), ("Omaha", "Nebraska"),
    ("Orlando", "Florida"), ("Oxnard", "California"), ("Philadelphia", "Pennsylvania"),
    ("Phoenix", "Arizona"), ("Pittsburgh", "Pennsylvania"), ("Plano", "Texas"),
    ("Portland", "Oregon"), ("Reno", "Nevada"), ("Sacramento", "California"),
    ("Scottsdale", "Arizona"), ("Seattle", "Washington"), ("Shreveport", "Louisiana"),
    ("Spokane", "Washington"), ("Stockton", "California"), ("Tacoma", "Washington"),
    ("Tallahassee", "Florida"), ("Tampa", "Florida"), ("Toledo", "Ohio"),
    ("Tucson", "Arizona"), ("Tulsa", "Oklahoma"), ("Wichita", "Kansas"),
    ("Worcester", "Massachusetts"),
)

#: The cities, once each (Glendale is in Arizona and in California).
CITIES: tuple[str, ...] = tuple(dict.fromkeys(c for c, _ in CITY_IN_STATE))


def single_token(names: tuple[str, ...] | list[str]) -> list[str]:
    """Lowercase names that are one token (text8 format); two-word names are dropped."""
    return [n.lower() for n in names if " " not in n]


def cities_and_states() -> tuple[list[str], list[str]]:
    """(cities, states) as lowercase single tokens."""
    return single_token(list(CITIES)), single_token(list(STATES))

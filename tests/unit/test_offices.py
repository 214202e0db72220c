"""Stories about the reference list of immigration offices."""

import re

import pytest
from pydantic import ValidationError

from shared.offices import (
    Office,
    UnknownOffice,
    load_offices,
    nearest_offices,
    office_by_code,
    offices_for_user,
    offices_in_province,
    provinces,
)

LAMONGAN = (-7.1167, 112.4167)

PROVINCE_TIMEZONE = {
    "Aceh": "Asia/Jakarta",
    "Sumatera Utara": "Asia/Jakarta",
    "Sumatera Barat": "Asia/Jakarta",
    "Riau": "Asia/Jakarta",
    "Kepulauan Riau": "Asia/Jakarta",
    "Jambi": "Asia/Jakarta",
    "Sumatera Selatan": "Asia/Jakarta",
    "Kepulauan Bangka Belitung": "Asia/Jakarta",
    "Bengkulu": "Asia/Jakarta",
    "Lampung": "Asia/Jakarta",
    "DKI Jakarta": "Asia/Jakarta",
    "Banten": "Asia/Jakarta",
    "Jawa Barat": "Asia/Jakarta",
    "Jawa Tengah": "Asia/Jakarta",
    "DI Yogyakarta": "Asia/Jakarta",
    "Jawa Timur": "Asia/Jakarta",
    "Kalimantan Barat": "Asia/Jakarta",
    "Kalimantan Tengah": "Asia/Jakarta",
    "Bali": "Asia/Makassar",
    "Nusa Tenggara Barat": "Asia/Makassar",
    "Nusa Tenggara Timur": "Asia/Makassar",
    "Kalimantan Selatan": "Asia/Makassar",
    "Kalimantan Timur": "Asia/Makassar",
    "Kalimantan Utara": "Asia/Makassar",
    "Sulawesi Utara": "Asia/Makassar",
    "Gorontalo": "Asia/Makassar",
    "Sulawesi Tengah": "Asia/Makassar",
    "Sulawesi Barat": "Asia/Makassar",
    "Sulawesi Selatan": "Asia/Makassar",
    "Sulawesi Tenggara": "Asia/Makassar",
    "Maluku": "Asia/Jayapura",
    "Maluku Utara": "Asia/Jayapura",
    "Papua": "Asia/Jayapura",
    "Papua Barat": "Asia/Jayapura",
    "Papua Barat Daya": "Asia/Jayapura",
    "Papua Tengah": "Asia/Jayapura",
    "Papua Selatan": "Asia/Jayapura",
    "Papua Pegunungan": "Asia/Jayapura",
}
# Named in shared/offices/SOURCES.md as having no office in the list.
PROVINCES_WITHOUT_OFFICE = {"Papua Pegunungan"}


def test_there_are_38_provinces_in_the_timezone_table():
    assert len(PROVINCE_TIMEZONE) == 38


def test_the_list_is_loaded_once_and_is_substantial():
    assert load_offices() is load_offices()
    assert len(load_offices()) >= 100


def test_codes_are_unique():
    codes = [office.code for office in load_offices()]
    assert len(codes) == len(set(codes))


def test_codes_are_short_ascii_slugs():
    for office in load_offices():
        assert re.fullmatch(r"[A-Z0-9-]{2,16}", office.code), office.code


def test_every_office_has_a_valid_timezone_for_its_province():
    for office in load_offices():
        assert office.province in PROVINCE_TIMEZONE, f"{office.code}: unknown province {office.province!r}"
        assert office.timezone == PROVINCE_TIMEZONE[office.province], office.code


def test_every_province_has_an_office_except_those_named_in_sources():
    assert set(provinces()) == set(PROVINCE_TIMEZONE) - PROVINCES_WITHOUT_OFFICE


def test_every_office_is_inside_indonesia_and_has_capacity():
    for office in load_offices():
        assert -11.5 <= office.latitude <= 6.5, office.code
        assert 94.5 <= office.longitude <= 141.5, office.code
        assert office.capacity_per_session > 0
        assert office.name.startswith("Kantor Imigrasi Kelas "), office.code


def test_offices_are_immutable():
    with pytest.raises(ValidationError):  # frozen
        office_by_code("JKT-SEL").capacity_per_session = 1  # type: ignore[misc]


def test_jakarta_selatan_is_found_by_its_code():
    office = office_by_code("JKT-SEL")
    assert isinstance(office, Office)
    assert office.province == "DKI Jakarta"
    assert office.timezone == "Asia/Jakarta"


def test_an_unknown_code_raises_a_named_lookup_error():
    with pytest.raises(UnknownOffice, match="NOPE"):
        office_by_code("NOPE")
    assert issubclass(UnknownOffice, LookupError)


def test_there_is_no_office_in_lamongan_but_gresik_exists():
    assert office_by_code("GRESIK").province == "Jawa Timur"
    assert not [o for o in load_offices() if "lamongan" in (o.city + o.name).lower()]


def test_lamongan_is_served_first_by_gresik():
    (first, distance), *_ = offices_for_user("Jawa Timur", *LAMONGAN, limit=3)
    assert first.code == "GRESIK"
    assert distance < 40


def test_gresik_is_the_nearest_office_to_lamongan():
    assert nearest_offices(*LAMONGAN, limit=1)[0][0].code == "GRESIK"


def test_nearest_offices_are_sorted_by_distance_and_limited():
    ranked = nearest_offices(-6.2, 106.8, limit=5)
    assert len(ranked) == 5
    distances = [km for _, km in ranked]
    assert distances == sorted(distances)
    assert all(office.province in {"DKI Jakarta", "Banten", "Jawa Barat"} for office, _ in ranked)


def test_distance_to_an_office_at_its_own_position_is_zero():
    office = office_by_code("MALANG")
    ((nearest, km),) = nearest_offices(office.latitude, office.longitude, limit=1)
    assert nearest == office
    assert km == pytest.approx(0.0, abs=1e-6)


def test_jakarta_to_surabaya_is_about_660_km():
    surabaya = office_by_code("SBY-TPI")
    ranked = dict((o.code, km) for o, km in nearest_offices(-6.2615, 106.8106, limit=len(load_offices())))
    assert ranked[surabaya.code] == pytest.approx(663, abs=25)


def test_province_offices_come_first_even_when_another_is_nearer():
    # On the Jakarta/Depok border Kanim Depok (Jawa Barat) is nearest, but a DKI Jakarta resident
    # is offered the five Jakarta offices first, then the nearest others.
    ranked = offices_for_user("DKI Jakarta", -6.38, 106.80, limit=7)
    provinces_in_order = [office.province for office, _ in ranked]
    assert provinces_in_order[:5] == ["DKI Jakarta"] * 5
    assert provinces_in_order[5] != "DKI Jakarta"
    own = [km for office, km in ranked[:5]]
    rest = [km for office, km in ranked[5:]]
    assert own == sorted(own) and rest == sorted(rest)
    assert nearest_offices(-6.38, 106.80, limit=1)[0][0].code == "DEPOK"


def test_province_match_ignores_case_and_spaces():
    assert offices_in_province(" jawa timur ") == offices_in_province("Jawa Timur")
    assert len(offices_in_province("JAWA TIMUR")) >= 10


def test_an_unknown_province_just_ranks_everything_by_distance():
    assert offices_in_province("Atlantis") == []
    assert offices_for_user("Atlantis", *LAMONGAN, limit=4) == nearest_offices(*LAMONGAN, limit=4)


def test_provinces_are_sorted_and_unique():
    names = provinces()
    assert names == sorted(set(names))


@pytest.mark.parametrize("lat, lon", [(-90.1, 0), (91, 0), (0, -180.5), (0, 181)])
def test_positions_off_the_globe_are_refused(lat, lon):
    with pytest.raises(ValueError, match="latitude|longitude"):
        nearest_offices(lat, lon)
    with pytest.raises(ValueError, match="latitude|longitude"):
        offices_for_user("Bali", lat, lon, limit=3)

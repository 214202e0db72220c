"""Stories about office days, public holidays and cuti bersama."""

import datetime as dt

import pytest
from pydantic import ValidationError

from shared.calendar import Holiday, closed_because, holiday_on, is_office_day, load_holidays


def test_weekend_is_not_an_office_day():
    assert not is_office_day(dt.date(2026, 7, 11))  # Saturday
    assert not is_office_day(dt.date(2026, 7, 12))  # Sunday


def test_an_ordinary_weekday_is_an_office_day():
    assert is_office_day(dt.date(2026, 7, 13))  # Monday, no holiday
    assert closed_because(dt.date(2026, 7, 13)) is None


def test_a_closed_day_says_why_in_english_and_indonesian():
    assert closed_because(dt.date(2026, 7, 11)) == ("weekend", "akhir pekan")
    assert closed_because(dt.date(2026, 8, 17)) == ("Independence Day", holiday_on(dt.date(2026, 8, 17)).name_id)


def test_independence_day_is_closed():
    for year in (2026, 2027):
        day = dt.date(year, 8, 17)
        assert not is_office_day(day)
        assert holiday_on(day).name_en == "Independence Day"


def test_fixed_holidays_are_listed_for_both_years():
    for year in (2026, 2027):
        for month, day in [(1, 1), (5, 1), (6, 1), (8, 17), (12, 25)]:
            assert holiday_on(dt.date(year, month, day)) is not None, (year, month, day)


def test_eid_al_fitr_and_its_collective_leave_close_offices():
    assert "Idul Fitri" in holiday_on(dt.date(2026, 3, 21)).name_id
    assert holiday_on(dt.date(2026, 3, 23)).name_id.startswith("Cuti Bersama")
    assert not is_office_day(dt.date(2026, 3, 20))
    assert not is_office_day(dt.date(2026, 3, 24))
    assert is_office_day(dt.date(2026, 3, 25))
    assert "Idul Fitri" in holiday_on(dt.date(2027, 3, 10)).name_id


def test_eid_al_adha_2026_is_closed():
    assert "Idul Adha" in holiday_on(dt.date(2026, 5, 27)).name_id
    assert not is_office_day(dt.date(2026, 5, 27))


def test_holidays_cover_2026_and_2027_only_with_one_row_per_date():
    table = load_holidays()
    assert {d.year for d in table} == {2026, 2027}
    assert all(h.date == d for d, h in table.items())
    assert len([d for d in table if d.year == 2026]) >= 20


def test_holidays_are_frozen_and_the_table_is_not_shared():
    table = load_holidays()
    table.clear()
    assert load_holidays()
    with pytest.raises(ValidationError):  # frozen
        holiday_on(dt.date(2026, 1, 1)).name_en = "changed"  # type: ignore[misc]


def test_every_holiday_has_both_names():
    for holiday in load_holidays().values():
        assert isinstance(holiday, Holiday)
        assert holiday.name_id.strip() and holiday.name_en.strip()


def test_a_day_without_a_holiday_has_none():
    assert holiday_on(dt.date(2026, 7, 13)) is None


def test_a_custom_holiday_table_replaces_the_packaged_one():
    monday = dt.date(2026, 7, 13)
    assert not is_office_day(monday, holidays={monday: "office closed for renovation"})
    assert is_office_day(dt.date(2026, 8, 17), holidays={})  # a Monday, and the given table is empty
    assert not is_office_day(dt.date(2026, 7, 11), holidays={})  # weekends stay closed

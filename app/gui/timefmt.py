"""Times and dates as the user's locale writes them (QLocale): 10:42 or 10:42 AM."""

from __future__ import annotations

import datetime

from PySide6.QtCore import QCoreApplication, QDate, QLocale, QTime


def clock(when: datetime.datetime) -> str:
    """A time of day as the user's locale writes it (10:42, or 10:42 AM)."""
    return QLocale().toString(QTime(when.hour, when.minute), QLocale.FormatType.ShortFormat)


def date_text(when: datetime.datetime, fmt: QLocale.FormatType) -> str:
    return QLocale().toString(QDate(when.year, when.month, when.day), fmt)


def date_time(when: datetime.datetime) -> str:
    """A date and time of day, short, as the user's locale writes them."""
    return QCoreApplication.translate("timefmt", "{date}, {time}").format(
        date=date_text(when, QLocale.FormatType.ShortFormat), time=clock(when))


def short_time(ms: int, now: datetime.datetime | None = None) -> str:
    """10:42 today, Yesterday, a weekday within a week, else a date (in the locale's
    words and order)."""
    when = datetime.datetime.fromtimestamp(ms / 1000)
    now = now or datetime.datetime.now()
    days = (now.date() - when.date()).days
    if days <= 0:
        return clock(when)
    if days == 1:
        return QCoreApplication.translate("timefmt", "Yesterday")
    if days < 7:
        return QLocale().dayName(when.isoweekday(), QLocale.FormatType.LongFormat)
    return date_text(when, QLocale.FormatType.ShortFormat)


def day_label(ms: int, now: datetime.datetime | None = None) -> str:
    when = datetime.datetime.fromtimestamp(ms / 1000)
    now = now or datetime.datetime.now()
    days = (now.date() - when.date()).days
    if days <= 0:
        day = QCoreApplication.translate("timefmt", "Today")
    elif days == 1:
        day = QCoreApplication.translate("timefmt", "Yesterday")
    elif days < 7:
        day = QLocale().dayName(when.isoweekday(), QLocale.FormatType.LongFormat)
    else:
        day = date_text(when, QLocale.FormatType.LongFormat)
    return QCoreApplication.translate("timefmt", "{day} {time}").format(day=day, time=clock(when))


def duration(seconds: int) -> str:
    """5 minutes, 1 hour, 1 day 2 hours, off: a disappearing-message timer in the user's
    language (the largest two units, as ``p2p.actions.disappearing.describe`` says it)."""
    if seconds <= 0:
        return QCoreApplication.translate("timefmt", "off")
    # one form for 1 and one for more (English and German need no others; a plural
    # through %n is not seen by lupdate outside a class)
    units = (
        (7 * 86400, QCoreApplication.translate("timefmt", "1 week"),
         QCoreApplication.translate("timefmt", "{n} weeks")),
        (86400, QCoreApplication.translate("timefmt", "1 day"),
         QCoreApplication.translate("timefmt", "{n} days")),
        (3600, QCoreApplication.translate("timefmt", "1 hour"),
         QCoreApplication.translate("timefmt", "{n} hours")),
        (60, QCoreApplication.translate("timefmt", "1 minute"),
         QCoreApplication.translate("timefmt", "{n} minutes")),
        (1, QCoreApplication.translate("timefmt", "1 second"),
         QCoreApplication.translate("timefmt", "{n} seconds")),
    )
    parts = []
    for size, one, many in units:
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(one if n == 1 else many.format(n=n))
    return " ".join(parts[:2])

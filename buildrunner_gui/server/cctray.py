"""`GET /cctray.xml` (protocol.md, "Feeds for other tools"): the sessions in the CCTray format, the feed that
CCMenu, BuildNotify, Nevergreen, CatLight and CCTray itself read.

One `<Project>` per session. `activity` follows the activity rule of formats.md (`Building` only while the
project is building, so a build abandoned long ago is `Sleeping`); `lastBuildStatus` is `Success` for a
completed session, `Failure` for a failed one, `Unknown` otherwise. Names come from project files and may hold
anything: the document is built with ElementTree (which escapes markup) after characters XML 1.0 cannot carry
at all are replaced, so the feed always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote

from ..model.clock import iso
from .feed_state import SessionFeed

PATH = "/cctray.xml"
CONTENT_TYPE = "application/xml; charset=utf-8"
BUILD_STATUS = {"completed": "Success", "failed": "Failure"}  # anything else: Unknown
NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # lastBuildTime is required; a session with no time at all

# Characters outside XML 1.0's Char production (control characters, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def document(feeds: Sequence[SessionFeed], base_url: str) -> bytes:
    """The feed; `base_url` is this server's browser page (`http://HOST:PORT/`) as the client reached it."""
    root = ET.Element("Projects")
    shared = Counter(feed.name for feed in feeds)
    for feed in feeds:
        name = feed.name or feed.session_id
        if feed.name and shared[feed.name] > 1:
            name = f"{feed.name} ({feed.session_id})"
        attributes = {
            "name": name,
            "activity": "Building" if feed.building else "Sleeping",
            "lastBuildStatus": BUILD_STATUS.get(feed.status, "Unknown"),
            "lastBuildTime": iso(_last_build_time(feed)),
            "webUrl": f"{base_url}#session={quote(feed.session_id, safe='')}",
        }
        label = feed.latest_checkpoint or feed.run_id
        if label:  # optional in the format; clients degrade without it
            attributes["lastBuildLabel"] = label
        ET.SubElement(root, "Project", {key: _xml_text(value) for key, value in attributes.items()})
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _last_build_time(feed: SessionFeed) -> datetime:
    moments = [moment for moment in (feed.last_change, feed.run_moment) if moment is not None]
    return max(moments) if moments else NEVER


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)

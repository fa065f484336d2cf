"""Reads a CCTray feed the way BuildNotify (a CCTray build monitor from PyPI) does, with its own HTTP adapter
and feed parser, and prints what it would show: one JSON object per project, with the status key its tray
icons are chosen by (`Success.Sleeping` is the green icon, `Failure.Building` the red one being built…).

Run with BuildNotify's venv (scripts/setup --dev makes .venv/buildnotify): python buildnotify_fetch.py URL [TOKEN]
"""

import json
import sys

from buildnotifylib.adapters.http import HttpConnection
from buildnotifylib.core.cctray import CctraySource
from buildnotifylib.core.settings import ServerSettings

url = sys.argv[1]
token = sys.argv[2] if len(sys.argv) > 2 else ""
server = ServerSettings(url, password=token, authentication_type=ServerSettings.AUTH_BEARER_TOKEN)
projects = CctraySource(server, 10.0, HttpConnection()).fetch()
print(
    json.dumps(
        [
            {
                "name": project.name,
                "status": str(project.status),
                "activity": str(project.activity),
                "icon": project.get_build_status(),
                "label": project.last_build_label,
                "url": project.url,
                "build_time": project.build_time.isoformat() if project.build_time else None,
            }
            for project in projects
        ]
    )
)

"""The balancer's configuration (`ivr.balancer`, `hotline haproxy`) and what staff read of it
(`ivr.overload`, the overview, /metrics). The configuration is checked by HAProxy itself;
tests/flood/test_overload.py runs it under a flood."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from prometheus_client.parser import text_string_to_metric_families

from flood.balanced_stack import wait_until_in_pool
from flood.servers import free_port, wait_for_port
from flood.worksheets import load_worksheets
from ivr.balancer import (
    BUSY_TWIML,
    CHAIR_FIRST_CALLS,
    CLASS_HEADER,
    IN_CALL_CLASS,
    NEW_CALL_CLASS,
    REQUEST_START_HEADER,
    STAFF_CLASS,
    STATS_PATH,
    BalancerOptions,
    Node,
    chair_phones_text,
    haproxy_config,
    is_in_call,
)
from ivr.cli import cli
from ivr.hotline import Hotline
from ivr.overload import OverloadMonitor, read_status
from ivr.settings import Settings, SettingsError
from ivr.voice import routes
from models import StaffRole
from queues import counters
from tests.ivr.staff.support import staff_client
from tests.support.calls import CALLER, chair, place_call
from tests.support.data import import_precincts

NODES = [Node("web0", "127.0.0.1:5001", 4), Node("web1", "127.0.0.1:5002", 4)]
STATS_HEADER = (
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,"
    "wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,"
    "sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,"
    "check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,"
    "req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,"
    "lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime\n"
)


def _stats(refused_rate: int, refused_total: int, queued: int, qtime: int) -> str:
    """A statistics page as HAProxy 2.6 writes it (its first columns, by name)."""
    names = STATS_HEADER.removeprefix("# ").strip().split(",")

    def row(proxy: str, server: str, qcur: int, stot: int, rate: int, qtime: int) -> str:
        cells = dict.fromkeys(names, "")
        values = {"qcur": qcur, "stot": stot, "rate": rate, "qtime": qtime}
        cells.update(pxname=proxy, svname=server, **{k: str(v) for k, v in values.items()})
        return ",".join(cells.values()) + "\n"

    return (
        STATS_HEADER
        + row("hotline", "FRONTEND", 0, 900, 40, 0)
        + row("hotline", "web0", queued, 500, 30, qtime)
        + row("hotline", "BACKEND", queued, 500, 30, qtime)
        + row("refused", "BACKEND", 0, refused_total, refused_rate, 0)
    )


def _haproxy_accepts(config: str, tmp_path: Path) -> None:
    binary = shutil.which("haproxy")
    assert binary, "no haproxy: `make test` installs Debian's package"
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    checked = subprocess.run([binary, "-c", "-f", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("overload_control", [True, False])
@pytest.mark.parametrize("with_chairs", [True, False])
def test_every_generated_configuration_is_valid_haproxy(
    tmp_path: Path, overload_control: bool, with_chairs: bool
) -> None:
    chairs = tmp_path / "chair-phones.lst"
    chairs.write_text("+15155550101\n")
    options = BalancerOptions(
        bind="127.0.0.1:8080",
        stats_bind="127.0.0.1:8404",
        nodes=NODES,
        chair_phones_file=chairs if with_chairs else None,
        overload_control=overload_control,
    )
    config = haproxy_config(options)
    _haproxy_accepts(config, tmp_path)
    assert ("5001 maxconn 4\n" in config) is overload_control
    assert ("set-priority-class" in config) is overload_control
    assert ("use_backend refused" in config) is overload_control
    assert (str(chairs) in config) is (overload_control and with_chairs)
    if overload_control:
        # Saturated: twice the nodes' requests at once wait before new calls hear busy.
        assert "acl saturated queue(hotline) gt 16" in config
        assert f"set-priority-class int({NEW_CALL_CLASS}) if new_call" in config
        assert 'string "<?xml version=\\"1.0\\"' in config and "Reject" in BUSY_TWIML


def test_in_call_paths_are_the_steps_of_calls_in_the_flow() -> None:
    for path in ("/voice/pin", "/voice/figure/first/2", "/voice/dequeued", "/voice/fallback"):
        assert is_in_call(path), path
    for path in ("/voice", "/voice/drill", "/voice/hold", "/voice/status", "/sms", "/staff/"):
        assert not is_in_call(path), path


def test_the_chair_phones_list_is_each_registered_number_once_in_e164() -> None:
    text = chair_phones_text(["+1 515-555-0102", "+15155550101", "", "not a phone", "+15155550102"])
    assert text == "+15155550101\n+15155550102\n"


def test_hotline_haproxy_writes_the_config_and_the_chair_phones(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    import_precincts(runner, tmp_path, chair_phones={"948199": CALLER})
    phones = tmp_path / "lb" / "chair-phones.lst"
    written = runner.invoke(cli, ["haproxy", "chair-phones", "--out", str(phones)])
    assert written.exit_code == 0, written.output
    assert phones.read_text() == f"{CALLER}\n"

    config = tmp_path / "lb" / "haproxy.cfg"
    args = ["haproxy", "config", "--out", str(config), "--node", "web0=10.0.0.5:8000"]
    args += ["--node", "web1=10.0.0.6:8000", "--maxconn", "16", "--chair-phones", str(phones)]
    written = runner.invoke(cli, args)
    assert written.exit_code == 0, written.output
    text = config.read_text()
    assert "server web1 10.0.0.6:8000 maxconn 16" in text
    assert "queue(hotline) gt 64" in text and str(phones.resolve()) in text
    _haproxy_accepts(text, tmp_path)
    refused = runner.invoke(cli, ["haproxy", "config", "--out", str(config), "--node", "web0"])
    assert refused.exit_code != 0 and "NAME=HOST:PORT" in refused.output


def test_the_overload_status_sums_the_balancers_and_counts_the_silent_ones() -> None:
    pages = {
        "http://lb1/stats;csv": _stats(refused_rate=120, refused_total=5000, queued=9, qtime=30),
        "http://lb2/stats;csv": _stats(refused_rate=0, refused_total=7, queued=1, qtime=80),
    }

    def fetch(url: str) -> str:
        return pages[url]  # lb3 is not there: a KeyError, as an unreachable balancer

    status = read_status(["http://lb1/stats", "http://lb2/stats", "http://lb3/stats"], fetch)
    assert status.shedding and status.refused_per_second == 120
    assert status.refused_total == 5007 and status.queued == 10 and status.queue_ms == 80
    assert status.balancers == 3 and status.unreachable == 1
    calm = read_status(["http://lb2/stats"], fetch)
    assert not calm.shedding and calm.refused_total == 7


def test_the_monitor_reads_the_balancers_at_most_once_a_second() -> None:
    reads: list[str] = []

    def fetch(url: str) -> str:
        reads.append(url)
        return _stats(refused_rate=1, refused_total=len(reads), queued=0, qtime=0)

    monitor = OverloadMonitor(["http://lb1/stats"], fetch)
    first = monitor.status()
    assert monitor.status() == first and len(reads) == 1
    time.sleep(1.05)
    assert monitor.status().refused_total == 2


def test_the_stats_urls_setting_refuses_credentials_without_repeating_them() -> None:
    env = {"HOTLINE_PROFILE": "dev", "HAPROXY_STATS_URLS": " http://10.0.0.2:8404/stats/ ,"}
    assert Settings.from_env(env).haproxy_stats_urls == ("http://10.0.0.2:8404/stats",)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**env, "HAPROXY_STATS_URLS": "http://admin:s3cret@10.0.0.2/stats"})
    assert "s3cret" not in str(refused.value)


def test_in_call_latency_is_from_the_balancers_stamp_when_it_is_plausible() -> None:
    now = time.time()
    stamp = {"HTTP_X_REQUEST_START": f"t={int((now - 0.5) * 1000)}"}
    arrived = routes._arrival(stamp)
    assert arrived is not None and 0.49 < routes._in_call_seconds(arrived, time.perf_counter()) < 5
    # No stamp, a forged one, or another host's clock far off: this process's own timing.
    for environ in ({}, {"HTTP_X_REQUEST_START": "t=abc"}, {"HTTP_X_REQUEST_START": "t=1"}):
        at = routes._arrival(environ)
        assert routes._in_call_seconds(at, time.perf_counter()) < 0.1


def test_staff_see_overload_control_and_in_call_latency(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    pins = import_precincts(runner, tmp_path, chair_phones={"948199": CALLER})
    sheet = load_worksheets()[("Adair", "1NW ADAIR")]
    place_call(client, chair("948199", pins["948199"], sheet, hotline.ballot))
    in_call = counters.in_call_latency_percentiles(hotline.redis)
    assert in_call["samples"] > 30 and in_call["p99"] > 0

    page = _stats(refused_rate=250, refused_total=9000, queued=12, qtime=40)
    hotline.overload = OverloadMonitor(["http://lb1/stats"], lambda url: page)
    staff_client(client, hotline, StaffRole.VIEWER)
    overview = client.get("/staff/").get_data(as_text=True)
    assert "Overload control" in overview and ">shedding<" in overview
    data = client.get("/staff/overview.json").get_json()["snapshot"]
    assert data["overload"]["refused_per_second"] == 250
    assert data["in_call_latency_ms"]["samples"] == in_call["samples"]

    text = client.get("/metrics").get_data(as_text=True)
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert families["hotline_overload_shedding"].samples[0].value == 1
    assert families["hotline_overload_refused_calls"].samples[0].value == 9000
    assert families["hotline_overload_refused_per_second"].samples[0].value == 250
    quantiles = {
        s.labels["quantile"]: s.value for s in families["hotline_in_call_latency_seconds"].samples
    }
    assert quantiles["0.99"] == pytest.approx(in_call["p99"] / 1000)


class _Echo(BaseHTTPRequestHandler):
    """A web node that answers with the headers HAProxy passed on."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer()

    def _answer(self) -> None:
        seen = {name: self.headers.get(name, "") for name in (CLASS_HEADER, REQUEST_START_HEADER)}
        body = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def balancer_in_front_of_an_echo(tmp_path: Path) -> Iterator[str]:
    node = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=node.serve_forever, daemon=True).start()
    chairs = tmp_path / "chair-phones.lst"
    chairs.write_text(chair_phones_text([CALLER]))
    port, stats_port = free_port(), free_port()
    options = BalancerOptions(
        bind=f"127.0.0.1:{port}",
        stats_bind=f"127.0.0.1:{stats_port}",
        nodes=[Node("web0", f"127.0.0.1:{node.server_address[1]}", 4)],
        chair_phones_file=chairs,
    )
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(options))
    binary = shutil.which("haproxy")
    assert binary, "no haproxy: `make test` installs Debian's package"
    log = (tmp_path / "haproxy.log").open("w")
    process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=log, stderr=log)
    try:
        wait_for_port(port)
        wait_until_in_pool(f"http://127.0.0.1:{stats_port}{STATS_PATH}", "web0")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        node.shutdown()


def test_haproxy_gives_each_request_its_class_and_stamps_its_arrival(
    balancer_in_front_of_an_echo: str,
) -> None:
    url = balancer_in_front_of_an_echo

    def seen(path: str, sender: str = "+15152220199", method: str = "POST") -> dict[str, str]:
        body = urlencode({"From": sender, "CallSid": "CA" + "1" * 32}).encode()
        request = urllib.request.Request(
            url + path,
            data=body if method == "POST" else None,
            method=method,
            headers={CLASS_HEADER: "0", REQUEST_START_HEADER: "t=1"},  # a client's, replaced
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            answer: dict[str, str] = json.loads(response.read())
        return answer

    for path in ("/voice/pin", "/voice/figure/first/2", "/voice/dequeued", "/voice/fallback"):
        assert seen(path)[CLASS_HEADER] == str(IN_CALL_CLASS), path
    for path in ("/voice", "/voice/drill", "/voice/hold", "/voice/status", "/sms"):
        assert seen(path)[CLASS_HEADER] == str(NEW_CALL_CLASS), path
    assert seen("/staff/", method="GET")[CLASS_HEADER] == str(STAFF_CLASS)
    # A registered chair's first calls go first, a few at a time; then they are new calls.
    firsts = [seen("/voice", sender=CALLER)[CLASS_HEADER] for _ in range(CHAIR_FIRST_CALLS + 1)]
    assert firsts == [str(IN_CALL_CLASS)] * CHAIR_FIRST_CALLS + [str(NEW_CALL_CLASS)]
    stamp = seen("/voice/pin")[REQUEST_START_HEADER]
    assert stamp.startswith("t=") and abs(int(stamp[2:]) / 1000 - time.time()) < 5

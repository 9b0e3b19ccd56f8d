"""LAN clients cannot make the machine fetch loopback or private addresses (SSRF); the
person at the machine can, and Settings or `serve --allow-network` open chosen networks."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from audiofetch_app import sources
from audiofetch_app.core import address_guard
from audiofetch_app.core.address_guard import AddressPolicy, GuardedBackend
from audiofetch_app.core.job_record import JobState
from audiofetch_app.web.api import build_router
from tests.fakes.http_server import FakeServer

REFUSED = ["127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1",
           "169.254.169.254", "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1",
           "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1",
           "::ffff:10.0.0.1", "2002:7f00:1::1", "64:ff9b::7f00:1"]
PUBLIC = ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.215.14"]


@pytest.mark.parametrize("text", REFUSED)
def test_local_and_special_addresses_are_refused(text: str) -> None:
    assert not AddressPolicy().permits(ipaddress.ip_address(text))


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_are_permitted(text: str) -> None:
    assert AddressPolicy().permits(ipaddress.ip_address(text))


def test_allowed_networks_open_exactly_themselves() -> None:
    policy = address_guard.policy_for("192.168.1.0/24\n10.1.2.3", [])
    assert policy.permits(ipaddress.ip_address("192.168.1.77"))
    assert policy.permits(ipaddress.ip_address("10.1.2.3"))
    assert not policy.permits(ipaddress.ip_address("10.1.2.4"))
    assert not policy.permits(ipaddress.ip_address("127.0.0.1"))
    with pytest.raises(ValueError, match="is not a network"):
        address_guard.parse_networks("192.168.1.0/33")


def test_httpx_still_takes_the_guarded_network_backend() -> None:
    transport = address_guard.guarded_transport(AddressPolicy())
    assert isinstance(transport._pool._network_backend, GuardedBackend)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1"])
def test_a_loopback_peer_is_this_machine(host: str) -> None:
    assert not address_guard.is_network_peer(host)
    assert address_guard.is_network_peer("192.168.1.50")
    assert not address_guard.is_network_peer("testclient")


@pytest.fixture
def other_host() -> Iterator[FakeServer]:
    server = FakeServer("127.0.0.2")
    try:
        yield server
    finally:
        server.stop()


async def _run(runtime, url: str, *, from_network: bool, **options):
    job = await sources.submit(runtime, url, options=options, from_network=from_network)
    return await asyncio.wait_for(runtime.jobs.wait(job.id), 60)


async def test_a_lan_clients_download_of_a_loopback_service_is_refused(
        runtime, http_server, mp3: bytes) -> None:
    http_server.add("/secret.mp3", mp3, content_type="audio/mpeg")
    port = http_server.url.rsplit(":", 1)[1]
    for url in (f"http://127.0.0.1:{port}/secret.mp3", f"http://localhost:{port}/secret.mp3",
                f"http://0.0.0.0:{port}/secret.mp3", f"http://[::ffff:127.0.0.1]:{port}/"
                "secret.mp3", f"http://2130706433:{port}/secret.mp3"):
        job = await _run(runtime, url, from_network=True)
        assert job.state == JobState.FAILED, url
        assert "which downloads asked for from another device may not reach" in job.error
    assert http_server.hits.get("/secret.mp3") is None  # never even asked
    # The person at the machine reaches it.
    job = await _run(runtime, http_server.url_for("/secret.mp3"), from_network=False)
    assert job.state == JobState.DONE, job.error


async def test_an_allowed_network_opens_only_itself_and_redirects_are_checked(
        runtime, http_server, other_host: FakeServer, mp3: bytes) -> None:
    runtime.settings.update(allowed_networks="127.0.0.1/32")
    http_server.add("/nas/song.mp3", mp3, content_type="audio/mpeg")
    job = await _run(runtime, http_server.url_for("/nas/song.mp3"), from_network=True)
    assert job.state == JobState.DONE, job.error
    other_host.add("/private.mp3", mp3, content_type="audio/mpeg")
    http_server.add("/jump.mp3", b"", status=302,
                    headers={"Location": other_host.url_for("/private.mp3")})
    job = await _run(runtime, http_server.url_for("/jump.mp3"), from_network=True)
    assert job.state == JobState.FAILED and "127.0.0.2" in job.error
    assert other_host.hits.get("/private.mp3") is None
    runtime.jobs.allowed_networks = [ipaddress.ip_network("127.0.0.2/32")]  # --allow-network
    job = await _run(runtime, http_server.url_for("/jump.mp3"), from_network=True)
    assert job.state == JobState.DONE, job.error


async def test_every_track_a_page_leads_to_is_checked(runtime, http_server,
                                                      other_host: FakeServer,
                                                      mp3: bytes) -> None:
    runtime.settings.update(allowed_networks="127.0.0.1/32")
    other_host.add("/inside.mp3", mp3, content_type="audio/mpeg")
    http_server.add("/out.mp3", mp3, content_type="audio/mpeg")
    http_server.add("/page", f'<a href="/out.mp3">Out</a> <a href="'
                    f'{other_host.url_for("/inside.mp3")}">Inside</a>',
                    content_type="text/html")
    job = await _run(runtime, http_server.url_for("/page"), from_network=True, zip=False)
    assert job.state == JobState.FAILED and job.error.startswith("1 of 2 tracks failed")
    assert "127.0.0.2" in job.error and other_host.hits.get("/inside.mp3") is None


async def test_rest_marks_a_request_from_another_device(runtime, http_server,
                                                        mp3: bytes) -> None:
    http_server.add("/secret.mp3", mp3, content_type="audio/mpeg")
    api = FastAPI()
    api.include_router(build_router(lambda: runtime))
    for peer, state in ((("192.168.1.50", 50000), JobState.FAILED),
                        (("127.0.0.1", 50000), JobState.DONE)):
        transport = httpx.ASGITransport(api, client=peer)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            started = await client.post("/api/download",
                                        json={"url": http_server.url_for("/secret.mp3")})
            preview = await client.get("/api/preview", params={
                "url": http_server.url_for("/secret.mp3"), "kind": "page"})
        job = await asyncio.wait_for(runtime.jobs.wait(started.json()["job_id"]), 60)
        assert job.state == state, (peer, job.error)
        assert job.from_network is (state == JobState.FAILED)
        assert (preview.status_code == 422) is (state == JobState.FAILED), preview.text
        await runtime.jobs.delete(job.id)

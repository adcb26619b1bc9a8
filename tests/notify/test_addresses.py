"""The webhook address guard on this machine's real resolver and interfaces."""

from __future__ import annotations

import socket

import pytest

from dockyard.runners.addresses import WebhookRefused, resolve


def own_address() -> str:
    """The address this machine sends from (no packet leaves: a UDP socket only routes)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))
        return probe.getsockname()[0]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "a loopback address"),
        ("http://127.8.9.10:9000/", "a loopback address"),
        ("https://localhost/hook", "a loopback address"),
        ("http://[::1]:8000/", "a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://[fe80::1]/", "a link-local address"),
        ("http://0.0.0.0/", "the unspecified address"),
        ("http://224.0.0.1/", "a multicast address"),
        ("http://240.0.0.1/", "a reserved address"),
        ("http://[::ffff:169.254.1.1]/", "a link-local address"),
        ("file:///etc/passwd", "http:// or https://"),
        ("gopher://10.0.0.1/", "http:// or https://"),
        ("http://10.0.0.1:99999/", "not a URL"),
        ("http://name.invalid/", "cannot be resolved"),
    ],
)
def test_what_no_webhook_may_reach(url: str, reason: str):
    with pytest.raises(WebhookRefused) as refused:
        resolve(url, ())
    assert refused.value.field == "webhook_url" and reason in refused.value.message


def test_this_servers_own_address_is_refused_and_the_lan_allowed():
    mine = own_address()
    with pytest.raises(WebhookRefused, match="an address of this server"):
        resolve(f"http://{mine}:8080/", ())
    lan = resolve("https://10.20.30.40/hook", ())
    assert (lan.scheme, lan.host, lan.port, lan.addresses) == (
        "https",
        "10.20.30.40",
        443,
        ("10.20.30.40",),
    )


def test_the_allow_list_opens_a_named_host_only():
    allowed = resolve("http://LocalHost:8080/hook", ("localhost",))
    assert allowed.host == "localhost" and "127.0.0.1" in allowed.addresses
    assert resolve("http://127.0.0.1:1/", (" 127.0.0.1 ",)).addresses == ("127.0.0.1",)
    with pytest.raises(WebhookRefused, match="DOCKYARD_WEBHOOK_ALLOWED_HOSTS"):
        resolve("http://127.0.0.1/", ("localhost",))

"""The one quoting helper: exact command strings, secrets masked for display."""

from deploy.commands.shell import AND, PIPE, Op, chain, cmd, sh
from deploy.secrets import Secret, mask


def test_each_part_is_quoted():
    c = cmd("mkdir", "-p", "/srv/my app/releases")
    assert c.render() == "mkdir -p '/srv/my app/releases'"


def test_injection_stays_one_argument():
    c = cmd("echo", "x; rm -rf /")
    assert c.render() == "echo 'x; rm -rf /'"


def test_operators_are_verbatim():
    c = cmd("cat", "/proc/meminfo", PIPE, "head", "-1")
    assert c.render() == "cat /proc/meminfo | head -1"


def test_secret_revealed_only_on_render():
    c = cmd("curl", "-H", Secret("Authorization: Bearer tok-123456"), "http://h/x")
    assert c.render() == "curl -H 'Authorization: Bearer tok-123456' http://h/x"
    assert str(c) == "curl -H *** http://h/x"


def test_chain_and_sh_nest_as_one_argument():
    c = sh(chain([cmd("cd", "/srv/a b"), cmd("ls")]))
    assert c.render() == "sh -c 'cd '\"'\"'/srv/a b'\"'\"' && ls'"
    assert cmd("a").then(cmd("b")).render() == "a && b"
    assert chain([cmd("a"), cmd("b")], Op(";")).render() == "a ; b"
    assert AND.text == "&&"


def test_mask_hides_every_registered_secret_in_text():
    Secret("hunter2-password")
    assert mask("login failed for pw=hunter2-password!") == "login failed for pw=***!"


def test_json_output_masks_a_secret_that_json_would_escape():
    from deploy.output.console import to_json
    tricky = 'pa"ss\\wörd-42'
    Secret(tricky)
    text = to_json({"error": f"login failed: {tricky}", "nested": [{"v": tricky}]})
    assert tricky not in text and 'pa\\"ss' not in text
    assert text.count("***") == 2

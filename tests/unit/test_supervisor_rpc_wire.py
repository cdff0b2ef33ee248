"""supervisor_rpc.py's own XML-RPC (no xmlrpc.client on the host): what it sends is what
xmlrpc.client reads as the same call, and it reads what supervisord's xmlrpc.client writes."""

import xmlrpc.client

import pytest

from deploy.process import supervisor_rpc as wire


@pytest.mark.parametrize("params", [(), ("marketplace-api",), ("a<b&c>", False), ("g", True, 7)])
def test_a_call_reads_back_as_the_same_call(params):
    read, method = xmlrpc.client.loads(wire.encode_call("supervisor.stopProcess", params))
    assert (read, method) == (params, "supervisor.stopProcess")


def test_a_call_refuses_what_it_cannot_send():
    with pytest.raises(TypeError):
        wire.encode_call("supervisor.x", (1.5,))


def answer(value) -> bytes:
    return xmlrpc.client.dumps((value,), methodresponse=True).encode()


@pytest.mark.parametrize("value", [
    1234, True, False, "RUNNING", "", "a <b> & 'c'", 2.5,
    {"name": "marketplace-api", "state": 20, "spawnerr": "", "description": "pid 7, uptime 0:00:01",
     "pid": 7, "exitstatus": 0, "logfile": "/srv/x.log"},
    [[["g1"], [], ["g3"]]],          # reloadConfig: [[added, changed, removed]]
    [{"name": "api", "group": "api", "status": 80, "description": "OK"}],   # stopProcessGroup
    [], {},
])
def test_an_answer_decodes_as_xmlrpc_client_decodes_it(value):
    assert wire.decode_response(answer(value)) == xmlrpc.client.loads(answer(value))[0][0]


def test_an_untyped_value_is_a_string():
    body = b"<methodResponse><params><param><value>plain</value></param></params></methodResponse>"
    assert wire.decode_response(body) == "plain"


def test_a_fault_raises_with_its_code_and_text():
    body = xmlrpc.client.dumps(xmlrpc.client.Fault(70, "NOT_RUNNING: marketplace-api"), methodresponse=True)
    with pytest.raises(wire.Fault) as caught:
        wire.decode_response(body.encode())
    assert (caught.value.faultCode, caught.value.faultString) == (70, "NOT_RUNNING: marketplace-api")


def test_an_unreadable_answer_fails_with_what_it_was():
    with pytest.raises(wire.Failed, match="unreadable"):
        wire.decode_response(b"<methodResponse><params>")


def test_http_body_by_its_length_and_a_refused_status():
    assert wire.split_http(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nX: y\r\n\r\nabcdef") == b"abc"
    assert wire.split_http(b"HTTP/1.0 200 OK\r\nServer: medusa\r\n\r\n<x/>") == b"<x/>"
    with pytest.raises(wire.Failed, match="HTTP answer"):
        wire.split_http(b"HTTP/1.0 401 Unauthorized\r\n\r\n")
    with pytest.raises(wire.Failed, match="HTTP answer"):
        wire.split_http(b"")


def test_the_host_side_imports_no_http_or_xmlrpc_module():
    source = (wire.__file__ and open(wire.__file__, encoding="utf-8").read())
    imports = [line.strip() for line in source.splitlines() if line.strip().startswith(("import ", "from "))]
    assert not [line for line in imports if "xmlrpc" in line or "http" in line], imports

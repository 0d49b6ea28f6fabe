"""One IPMI operation in a process of its own: request as JSON on stdin, answer as JSON on stdout.

pyghmi's client hangs on a second session to one BMC in a process and deadlocks across threads
(docs/protocols.md), so fabric.agents.bmc runs every call here, in a fresh interpreter it can
kill. This file imports nothing from Ferry; the password arrives on stdin, never in argv.
"""
import json
import sys

ACTIONS = ("power_state", "power_on", "power_off", "soft_off", "reset", "cycle", "boot_network", "boot_device")


def run(request: dict) -> dict:
    from pyghmi.ipmi import command

    action = request["action"]
    if action not in ACTIONS:
        return {"ok": False, "kind": "error", "message": f"unknown action {action}"}
    session = command.Command(
        bmc=request["address"], userid=request["username"], password=request["password"],
        port=int(request.get("port") or 623), keepalive=False,
    )
    try:
        if action == "power_state":
            return {"ok": True, "result": session.get_power().get("powerstate")}
        if action == "power_on":
            return {"ok": True, "result": _state(session.set_power("on"))}
        if action == "power_off":
            return {"ok": True, "result": _state(session.set_power("off"))}
        if action == "soft_off":
            return {"ok": True, "result": _state(session.set_power("shutdown"))}
        if action == "reset":
            return {"ok": True, "result": _state(session.set_power("reset"))}
        if action == "cycle":
            # Chassis Control "power cycle" (IPMI 2.0 §28.3, data 02h); pyghmi has no name for it.
            response = session.raw_command(netfn=0, command=2, data=[2])
            if "error" in response:
                return {"ok": False, "kind": "error", "message": str(response["error"])}
            return {"ok": True, "result": "cycle"}
        if action == "boot_network":
            session.set_bootdev("network", persist=False)
            return {"ok": True, "result": "network"}
        return {"ok": True, "result": session.get_bootdev().get("bootdev")}
    finally:
        try:
            session.ipmi_session.logout()
        except Exception:  # noqa: BLE001 - the process ends right after
            pass


def _state(response: dict) -> str:
    return str(response.get("powerstate") or response.get("pendingpowerstate") or "")


def main() -> int:
    try:
        request = json.loads(sys.stdin.read())
    except ValueError as exc:
        print(json.dumps({"ok": False, "kind": "error", "message": f"bad request: {exc}"}))
        return 0
    try:
        answer = run(request)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which types it
        answer = {"ok": False, "kind": "exception", "type": type(exc).__name__,
                  "message": "" if exc.args in ((), (None,)) else str(exc)}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Table tests for slurmshim.slurm.states (job state filters, node state names and filters)."""
from __future__ import annotations

import pytest

from slurmshim.model import JobState as J
from slurmshim.slurm import states as st
from slurmshim.slurm.states import (DEFAULT_SQUEUE_STATES, InvalidStateError,
                                    node_state_compact, node_state_matches, node_state_string,
                                    parse_node_state_list, parse_state_list)

# --------------------------------------------------------------------------- job states


@pytest.mark.parametrize("text, states", [
    ("PD", {J.PENDING}),                                  # capture 22 --states=PD
    ("R", {J.RUNNING}),
    ("PENDING", {J.PENDING}),                             # capture 58 scancel -t PENDING
    ("pending", {J.PENDING}),
    ("pd,r", {J.PENDING, J.RUNNING}),
    ("F,TO", {J.FAILED, J.TIMEOUT}),                      # capture 98
    ("CA", {J.CANCELLED}),
    ("cd,completed", {J.COMPLETED}),
    ("S,SUSPENDED", {J.SUSPENDED}),
    ("CG", {J.COMPLETING}),
    ("CF,configuring", {J.CONFIGURING}),
    ("NF,PR,BF,DL,OOM", {J.NODE_FAIL, J.PREEMPTED, J.BOOT_FAIL, J.DEADLINE, J.OUT_OF_MEMORY}),
    ("node_fail,out_of_memory,boot_fail", {J.NODE_FAIL, J.OUT_OF_MEMORY, J.BOOT_FAIL}),
    ("RQ,requeued", {J.REQUEUED}),
    ("SE", set()),                                        # valid flag we never produce
    ("special_exit,RH,requeue_hold,ST,stopped,SO,stage_out,RS,RD,RF,RV,SI,expediting", set()),
    ("R,SE", {J.RUNNING}),
    ("all", None),
    ("ALL", None),
    ("pd,,r", {J.PENDING, J.RUNNING}),                    # strtok skips empty items
    ("", set()),
])
def test_parse_state_list(text, states):
    assert parse_state_list(text) == states


@pytest.mark.parametrize("text, bad", [
    ("BOGUS", "BOGUS"),                                   # capture 58
    ("PD,BOGUS", "BOGUS"),
    ("all,PD", "all"),                                    # "all" only on its own
    ("P", "P"),                                           # no prefix matching for jobs
    ("RUN", "RUN"),
    (" PD", " PD"),
])
def test_parse_state_list_invalid(text, bad):
    with pytest.raises(InvalidStateError) as info:
        parse_state_list(text)
    assert info.value.name == bad and str(info.value) == bad
    assert info.value.reason == "unknown"


@pytest.mark.parametrize("text, ok", [
    ("CA,CD,F,TO,NF,PR,BF,DL,OOM,PD,R,S", True),
    ("RQ,RS,RV", True),
    ("CG", False),        # accounting does not record COMPLETING
    ("configuring", False),
    ("SE", False),
])
def test_parse_state_list_accounted_only(text, ok):
    if ok:
        parse_state_list(text, accounted_only=True)
    else:
        with pytest.raises(InvalidStateError) as info:
            parse_state_list(text, accounted_only=True)
        assert info.value.reason == "unaccounted"


def test_default_squeue_states():
    assert DEFAULT_SQUEUE_STATES == {J.PENDING, J.RUNNING, J.SUSPENDED, J.COMPLETING,
                                     J.CONFIGURING}


@pytest.mark.parametrize("name, state", [
    ("PD", J.PENDING), ("PENDING", J.PENDING), ("OOM", J.OUT_OF_MEMORY), ("CG", J.COMPLETING),
])
def test_job_state_names(name, state):
    assert st.JOB_STATE_NAMES[name] is state


def test_every_model_state_has_its_names():
    for state in J:
        assert st.JOB_STATE_NAMES[state.value] is state
        assert st.JOB_STATE_NAMES[state.compact] is state


def test_error_texts():
    assert st.JOB_STATE_LIST_TEXT.startswith("pending,running,suspended,completed,cancelled,")
    assert st.JOB_STATE_LIST_TEXT.endswith(",signaling,special_exit,stage_out,stopped")
    assert st.SCANCEL_VALID_STATES_TEXT == \
        "Valid job states are PENDING, RUNNING, and SUSPENDED"     # capture 58


# --------------------------------------------------------------------------- node states

IDLE, ALLOC, MIX, DOWN = st.NODE_STATE_IDLE, st.NODE_STATE_ALLOCATED, st.NODE_STATE_MIXED, \
    st.NODE_STATE_DOWN
DRAIN, CLOUD, PDOWN = st.NODE_STATE_DRAIN, st.NODE_STATE_CLOUD, st.NODE_STATE_POWERED_DOWN
PUP, NORESP, COMP = st.NODE_STATE_POWERING_UP, st.NODE_STATE_NO_RESPOND, st.NODE_STATE_COMPLETING


@pytest.mark.parametrize("state, long, compact", [
    (IDLE, "IDLE", "IDLE"),                                    # capture 40 idle / IDLE
    (ALLOC, "ALLOCATED", "ALLOC"),                             # capture 42
    (MIX, "MIXED", "MIX"),                                     # capture 44
    (DOWN, "DOWN", "DOWN"),
    (DOWN | NORESP, "DOWN*", "DOWN*"),
    (IDLE | CLOUD | PDOWN, "IDLE~", "IDLE~"),                  # cloud node at rest
    (IDLE | st.NODE_STATE_POWERING_DOWN, "IDLE%", "IDLE%"),
    (ALLOC | PUP, "ALLOCATED#", "ALLOC#"),
    (MIX | PUP, "MIXED#", "MIX#"),
    (IDLE | st.NODE_STATE_POWER_DOWN, "IDLE!", "IDLE!"),
    (IDLE | st.NODE_STATE_MAINT, "MAINT", "MAINT"),
    (ALLOC | st.NODE_STATE_MAINT, "ALLOCATED$", "ALLOC$"),
    (IDLE | st.NODE_STATE_REBOOT_REQUESTED, "REBOOT", "BOOT"),
    (IDLE | st.NODE_STATE_REBOOT_ISSUED, "REBOOT^", "BOOT^"),
    (MIX | st.NODE_STATE_REBOOT_REQUESTED, "MIXED@", "MIX@"),
    (IDLE | DRAIN, "DRAINED", "DRAIN"),
    (MIX | DRAIN, "DRAINING", "DRNG"),
    (ALLOC | DRAIN, "DRAINING", "DRNG"),
    (IDLE | DRAIN | COMP, "DRAINING", "DRNG"),
    (DOWN | DRAIN, "DRAINED", "DRAIN"),
    (IDLE | DRAIN | NORESP, "DRAINED*", "DRAIN*"),
    (IDLE | DRAIN | PDOWN, "DRAINED~", "DRAIN~"),
    (IDLE | st.NODE_STATE_FAIL, "FAIL", "FAIL"),
    (ALLOC | st.NODE_STATE_FAIL, "FAILING", "FAILG"),
    (ALLOC | COMP, "ALLOCATED+", "ALLOC+"),
    (IDLE | COMP, "COMPLETING", "COMP"),
    (IDLE | st.NODE_STATE_RES, "RESERVED", "RESV"),
    (IDLE | st.NODE_STATE_PLANNED, "PLANNED", "PLND"),
    (IDLE | st.NODE_STATE_BLOCKED, "BLOCKED", "BLOCK"),
    (MIX | st.NODE_STATE_PLANNED, "MIXED-", "MIX-"),
    (st.NODE_STATE_FUTURE, "FUTURE", "FUTR"),
    (st.NODE_STATE_UNKNOWN, "UNKNOWN", "UNK"),
    (st.NODE_STATE_UNKNOWN | NORESP, "UNKNOWN*", "UNK*"),
    (IDLE | st.NODE_STATE_INVALID_REG, "INVAL", "INVAL"),
    (CLOUD, "CLOUD", "UNK"),                                   # single-flag names: long only
    (PDOWN, "POWERED_DOWN", "UNK"),
])
def test_node_state_strings(state, long, compact):
    assert node_state_string(state) == long
    assert node_state_compact(state) == compact


@pytest.mark.parametrize("text, items, match_all", [
    ("idle", ((IDLE, False),), False),
    ("i", ((IDLE, False),), False),                       # prefixes of the names
    ("IDLE", ((IDLE, False),), False),
    ("alloc", ((ALLOC, False),), False),
    ("allocated", ((ALLOC, False),), False),
    ("mix", ((MIX, False),), False),
    ("m", ((MIX, False),), False),
    ("down", ((DOWN, False),), False),
    ("drain", ((DRAIN, False),), False),
    ("drained", ((DRAIN | IDLE, False),), False),
    ("draining", ((DRAIN | ALLOC, False),), False),
    ("drng", ((DRAIN | ALLOC, False),), False),
    ("cloud", ((CLOUD, False),), False),
    ("powered_down", ((PDOWN, False),), False),
    ("no_respond", ((NORESP, False),), False),
    ("comp", ((COMP, False),), False),
    ("resv", ((st.NODE_STATE_RES, False),), False),
    ("maint", ((st.NODE_STATE_MAINT, False),), False),
    ("fail", ((st.NODE_STATE_FAIL, False),), False),
    ("future", ((st.NODE_STATE_FUTURE, False),), False),
    ("unk", ((st.NODE_STATE_UNKNOWN, False),), False),
    ("idle,mix", ((IDLE, False), (MIX, False)), False),
    ("idle+cloud", ((IDLE, False), (CLOUD, False)), True),
    ("idle&cloud", ((IDLE, False), (CLOUD, False)), True),
    ("~idle", ((IDLE, True),), False),
    ("!drain,idle", ((DRAIN, True), (IDLE, False)), False),
])
def test_parse_node_state_list(text, items, match_all):
    flt = parse_node_state_list(text)
    assert flt.items == items and flt.match_all is match_all


@pytest.mark.parametrize("text", ["all", "ALL"])
def test_parse_node_state_list_all(text):
    assert parse_node_state_list(text) is None


@pytest.mark.parametrize("text", ["bogus", "idle,xyz", "idlex", ",", "alloc+nope"])
def test_parse_node_state_list_invalid(text):
    with pytest.raises(ValueError):
        parse_node_state_list(text)


@pytest.mark.parametrize("text, state, alloc_cpus, match", [
    ("idle", IDLE, 0, True),
    ("idle", MIX, 1, False),
    ("alloc", MIX, 1, True),              # mixed nodes have CPUs allocated: they match alloc
    ("alloc", ALLOC, 2, True),
    ("alloc", IDLE, 0, False),
    ("mix", MIX, 1, True),
    ("mix", ALLOC, 2, False),
    ("drain", IDLE | DRAIN, 0, True),
    ("drain", MIX | DRAIN, 1, True),
    ("drained", IDLE | DRAIN, 0, True),
    ("drained", MIX | DRAIN, 1, False),
    ("draining", MIX | DRAIN, 1, True),
    ("draining", IDLE | DRAIN, 0, False),
    ("cloud", IDLE | CLOUD | PDOWN, 0, True),
    ("powered_down", IDLE | CLOUD | PDOWN, 0, True),
    ("idle", IDLE | CLOUD | PDOWN, 0, True),
    ("~idle", IDLE, 0, False),
    ("~idle", MIX, 1, True),
    ("idle,mix", MIX, 1, True),
    ("idle+cloud", IDLE, 0, False),
    ("idle+cloud", IDLE | CLOUD, 0, True),
    ("down", DOWN | NORESP, 0, True),
    ("no_respond", DOWN | NORESP, 0, True),
    ("all", DOWN, 0, True),
])
def test_node_state_matches(text, state, alloc_cpus, match):
    assert node_state_matches(parse_node_state_list(text), state, alloc_cpus) is match


def test_sinfo_valid_states_text():
    assert st.SINFO_VALID_STATES_TEXT == (
        "unknown,down,idle,allocated,mixed,future,drain,drained,draining,no_respond,reserved,"
        "planned,blocked,cloud,completing,powering_down,powered_down,power_down,powering_up,"
        "power_up,inval,fail,maint,reboot,reboot^,external,dynamic_future,dynamic_norm")

"""A GenAI-style tracing script run by the tracing suite with the official MLflow client (3.x; 3.1 and 2.x where they have the API).

Usage: python tracing_workflow.py <tracking_uri> <experiment_name>
Traces nested function calls the way users do (@mlflow.trace, mlflow.start_span, an exception),
then searches, fetches, tags, assesses, links and deletes the traces through the client, and
prints one JSON document with what it read back; the jest suite asserts on it.
"""
import inspect
import json
import sys
import time

import mlflow
from mlflow import MlflowClient
try:
    from mlflow.entities import AssessmentSource, Expectation
except ImportError:  # 2.x: no assessment entities
    AssessmentSource = Expectation = None
from mlflow.exceptions import MlflowException

uri, experiment_name = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(uri)
client = MlflowClient(uri)
experiment = mlflow.set_experiment(experiment_name)
exp_id = experiment.experiment_id


@mlflow.trace(span_type="TOOL")
def lookup(city):
    return {"city": city, "temp_c": 21}


@mlflow.trace
def summarize(weather):
    with mlflow.start_span("format", span_type="PARSER") as span:
        span.set_inputs({"weather": weather})
        text = f"{weather['city']}: {weather['temp_c']}C"
        span.set_outputs(text)
        span.set_attribute("chars", len(text))
    return text


@mlflow.trace(name="agent", span_type="AGENT")
def agent(question, city):
    mlflow.update_current_trace(tags={"team": "genai", "question_kind": "weather"})
    return summarize(lookup(city))


@mlflow.trace(name="failing")
def failing():
    raise ValueError("tool exploded")


answers = [agent("weather in Paris?", "Paris")]
agent_trace_id = mlflow.get_last_active_trace_id()
answers += [agent(f"weather in {c}?", c) for c in ("Oslo", "Lima")]
try:
    failing()
except ValueError:
    pass
with mlflow.start_run(run_name="traced-run") as run:
    agent("weather in Rome?", "Rome")
mlflow.flush_trace_async_logging()


def trace_ids(traces):
    return [t.info.trace_id if hasattr(t.info, "trace_id") else t.info.request_id for t in traces]


# 3.x after 3.1 names the experiments `locations`; 3.1 and 2.x call them `experiment_ids`.
def where(fn):
    return {"locations": [exp_id]} if "locations" in inspect.signature(fn).parameters else {"experiment_ids": [exp_id]}


def search(**kw):
    if "return_type" in inspect.signature(mlflow.search_traces).parameters:
        kw["return_type"] = "list"
        return mlflow.search_traces(**where(mlflow.search_traces), **kw)
    return client.search_traces(**where(client.search_traces), **{k: v for k, v in kw.items() if k != "run_id"})


def request_times(traces):
    return [t.info.request_time if hasattr(t.info, "request_time") else t.info.timestamp_ms for t in traces]


everything = search()
newest_first = trace_ids(everything)
oldest = search(order_by=["timestamp_ms ASC"])
oldest_first = trace_ids(oldest)
# Ties (traces started in the same millisecond) keep the request_id order both ways, so compare times.
ordered_both_ways = request_times(everything) == sorted(request_times(everything), reverse=True) and request_times(oldest) == sorted(request_times(oldest)) and set(newest_first) == set(oldest_first)
ok_only = search(filter_string="trace.status = 'OK'")
errors = search(filter_string="status = 'ERROR'")
by_tag = search(filter_string="tags.team = 'genai' AND name = 'agent'")
by_run = search(run_id=run.info.run_id)
slow = search(filter_string="execution_time_ms >= 0 AND timestamp_ms > 0")
page1 = client.search_traces(**where(client.search_traces), max_results=2, order_by=["timestamp_ms ASC"])
page2 = client.search_traces(**where(client.search_traces), max_results=2, order_by=["timestamp_ms ASC"], page_token=page1.token)
page3 = client.search_traces(**where(client.search_traces), max_results=2, order_by=["timestamp_ms ASC"], page_token=page2.token)

trace = client.get_trace(agent_trace_id)
spans = {s.name: s for s in trace.data.spans}
root = spans["agent"]
failing_trace = client.get_trace(trace_ids(errors)[0])

client.set_trace_tag(agent_trace_id, "reviewed", "yes")
tag_after_set = client.get_trace(agent_trace_id).info.tags.get("reviewed")
client.delete_trace_tag(agent_trace_id, "reviewed")
tag_after_delete = client.get_trace(agent_trace_id).info.tags.get("reviewed")

def assessments_round_trip():
    """Feedback, an expectation, an override and deletes; None where the client refuses (3.1 keeps them to Databricks)."""
    feedback = mlflow.log_feedback(
        trace_id=agent_trace_id,
        name="helpful",
        value=True,
        rationale="answers the question",
        source=AssessmentSource(source_type="HUMAN", source_id="alice@example.com"),
    )
    expectation = mlflow.log_expectation(trace_id=agent_trace_id, name="expected", value={"city": "Paris"})
    mlflow.update_assessment(trace_id=agent_trace_id, assessment_id=expectation.assessment_id, assessment=Expectation(name="expected", value={"city": "Paris", "temp_c": 21}))
    override = mlflow.override_feedback(trace_id=agent_trace_id, assessment_id=feedback.assessment_id, value=False, rationale="wrong city")
    fetched = mlflow.get_assessment(agent_trace_id, expectation.assessment_id)
    assessed = client.get_trace(agent_trace_id).info.assessments
    mlflow.delete_assessment(trace_id=agent_trace_id, assessment_id=override.assessment_id)
    after_delete = client.get_trace(agent_trace_id).info.assessments
    return {
        "assessments": sorted([a.name, a.valid, a.value if hasattr(a, "value") else None] for a in assessed),
        "fetched_expectation": fetched.value,
        "feedback_source": [feedback.source.source_type, feedback.source.source_id],
        "feedback_rationale": feedback.rationale,
        "after_delete": sorted([a.name, a.valid] for a in after_delete),
    }


try:
    assessed = assessments_round_trip() if Expectation is not None else None
except MlflowException as e:
    if "only available for Databricks" not in e.message:
        raise
    assessed = None

if hasattr(client, "link_traces_to_run"):
    client.link_traces_to_run([trace_ids(errors)[0]], run.info.run_id)
linked = trace_ids(search(run_id=run.info.run_id))


def error_code(fn):
    try:
        fn()
        return None
    except MlflowException as e:
        return e.error_code


bad_filter = error_code(lambda: client.search_traces(**where(client.search_traces), filter_string="tags.team = "))
bad_order = error_code(lambda: client.search_traces(**where(client.search_traces), order_by=["nonsense DESC"]))
missing_trace = error_code(lambda: client.get_trace("tr-00000000000000000000000000000000"))

# 2.x names the ids `request_ids`.
ids_kw = "trace_ids" if "trace_ids" in inspect.signature(client.delete_traces).parameters else "request_ids"
deleted_by_id = client.delete_traces(exp_id, **{ids_kw: [trace_ids(errors)[0]]})
deleted_by_time = client.delete_traces(exp_id, max_timestamp_millis=int(time.time() * 1000), max_traces=2)
remaining = trace_ids(search())


def info_state(info):
    """3.x TraceInfo.state; 2.x TraceInfo.status."""
    state = info.state if hasattr(info, "state") else info.status
    return state.value if hasattr(state, "value") else str(state)


def info_preview(info):
    """3.x request_preview; 2.x keeps the inputs in request_metadata."""
    return info.request_preview if hasattr(info, "request_preview") else info.request_metadata.get("mlflow.traceInputs")


def info_duration(info):
    return info.execution_duration if hasattr(info, "execution_duration") else info.execution_time_ms


def span_view(s):
    return {
        "parent": next((p.name for p in trace.data.spans if p.span_id == s.parent_id), None),
        "type": s.span_type,
        "inputs": s.inputs,
        "outputs": s.outputs,
        "status": s.status.status_code.value if hasattr(s.status.status_code, "value") else str(s.status.status_code),
    }


print(json.dumps({
    "mlflow_version": mlflow.__version__,
    "answers": answers,
    "count": len(everything),
    "ordered_both_ways": ordered_both_ways,
    "ok_count": len(ok_only),
    "error_count": len(errors),
    "by_tag_count": len(by_tag),
    "by_run_count": len(by_run),
    "slow_count": len(slow),
    "pages": [len(page1), len(page2), len(page3), page3.token is None],
    "paged_ids_distinct": len(set(trace_ids(page1) + trace_ids(page2) + trace_ids(page3))),
    "span_names": sorted(spans),
    "spans": {name: span_view(s) for name, s in spans.items()},
    "format_attribute": spans["format"].attributes.get("chars"),
    "root_inputs": root.inputs,
    "root_outputs": root.outputs,
    "state": info_state(trace.info),
    "tags": {k: v for k, v in trace.info.tags.items() if k in ("team", "question_kind")},
    "artifact_location": trace.info.tags.get("mlflow.artifactLocation"),
    "request_preview": info_preview(trace.info),
    "execution_ms_nonnegative": info_duration(trace.info) is not None and info_duration(trace.info) >= 0,
    "failing_state": info_state(failing_trace.info),
    "failing_events": [e.name for s in failing_trace.data.spans for e in s.events],
    "tag_after_set": tag_after_set,
    "tag_after_delete": tag_after_delete,
    "assessed": assessed,
    "linked_count": len(linked),
    "bad_filter": bad_filter,
    "bad_order": bad_order,
    "missing_trace": missing_trace,
    "deleted_by_id": deleted_by_id,
    "deleted_by_time": deleted_by_time,
    "remaining": len(remaining),
}))

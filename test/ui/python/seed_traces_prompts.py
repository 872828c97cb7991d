"""Traces and prompts for the web UI's Traces and Prompts pages, made with the official MLflow 3.x client.

usage: seed_traces_prompts.py <tracking_uri> <experiment_name> <prompt_name>

Traces nested function calls (@mlflow.trace and mlflow.start_span), one of which raises, tags them,
logs a feedback assessment on the first, and registers a text prompt with two versions, a chat
prompt, and an alias. Prints one JSON line with the ids and values the tests look up.
"""
import json
import sys

import mlflow
import mlflow.genai as genai
from mlflow import MlflowClient
from mlflow.entities import AssessmentSource


@mlflow.trace(span_type="RETRIEVER")
def retrieve(question):
    return [{"doc": "kb-7", "text": f"About {question}"}]


@mlflow.trace(span_type="LLM")
def generate(question, docs):
    with mlflow.start_span("render_prompt", span_type="PARSER") as span:
        span.set_inputs({"question": question, "n_docs": len(docs)})
        prompt = f"Answer {question} using {docs[0]['doc']}"
        span.set_outputs(prompt)
        span.set_attribute("prompt_chars", len(prompt))
    return f"answer to {question}"


@mlflow.trace(name="rag_pipeline", span_type="CHAIN")
def rag(question):
    mlflow.update_current_trace(tags={"team": "search", "topic": question.split()[0]})
    return generate(question, retrieve(question))


@mlflow.trace(span_type="TOOL")
def fetch_weather(city):
    raise ConnectionError(f"weather service down for {city}")


@mlflow.trace(name="weather_agent", span_type="AGENT")
def weather_agent(city):
    mlflow.update_current_trace(tags={"team": "weather"})
    return fetch_weather(city)


def main() -> None:
    uri, experiment, prompt_name = sys.argv[1], sys.argv[2], sys.argv[3]
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    exp_id = mlflow.set_experiment(experiment).experiment_id

    rag("refunds for damaged items?")
    rag_id = mlflow.get_last_active_trace_id()
    rag("shipping to Norway?")
    try:
        weather_agent("Oslo")
    except ConnectionError:
        pass
    error_id = mlflow.get_last_active_trace_id()
    mlflow.flush_trace_async_logging()
    mlflow.log_feedback(
        trace_id=rag_id,
        name="helpful",
        value=True,
        rationale="cites the refund policy",
        source=AssessmentSource(source_type="HUMAN", source_id="reviewer@example.com"),
    )

    genai.register_prompt(name=prompt_name, template="Summarize {{text}} in one line.", commit_message="first draft")
    genai.register_prompt(
        name=prompt_name,
        template="Summarize {{text}} in {{n}} bullet points for {{audience}}.",
        commit_message="bullets",
        tags={"team": "search"},
    )
    genai.register_prompt(
        name=f"{prompt_name}-chat",
        template=[{"role": "system", "content": "You answer about {{topic}}."}, {"role": "user", "content": "{{question}}"}],
    )
    genai.set_prompt_alias(prompt_name, alias="production", version=2)

    rag_trace = client.get_trace(rag_id)
    print(
        json.dumps(
            {
                "experiment_id": exp_id,
                "rag_trace_id": rag_id,
                "error_trace_id": error_id,
                "trace_count": len(mlflow.search_traces(locations=[exp_id], return_type="list")),
                "rag_span_names": [s.name for s in rag_trace.data.spans],
                "artifact_location": rag_trace.info.tags.get("mlflow.artifactLocation"),
                "metadata": rag_trace.info.trace_metadata,
                "prompt": prompt_name,
                "chat_prompt": f"{prompt_name}-chat",
            }
        )
    )


if __name__ == "__main__":
    main()

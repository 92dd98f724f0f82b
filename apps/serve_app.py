"""The Ray Serve application of ``lavr serve``: an HTTP JSON API.

Two deployments:

- ``Detector`` — the YOLO detectors as their own deployment. Its ``predict`` is a
  ``@serve.batch`` method: concurrent calls from all agent replicas (each already a
  list of images from the agent's micro-batcher) are grouped per model, threshold
  and image size and go to ultralytics as one list. One GPU per replica when the
  cluster has GPUs; autoscaled on ongoing requests.
- ``Agent`` — the ingress (FastAPI): one :class:`~lavr.agents.VisualAgent` per
  replica whose expert pool serves detectors through the ``Detector`` deployment
  (no detector model is loaded in the ingress; OCR, segmentation and colour run in
  the ingress replica). Each request runs on a fork of the agent, so concurrent
  requests never share pixels or detections.

Endpoints:

- ``GET /healthz`` → ``{"status": "ok"}``
- ``POST /v1/ask`` — JSON ``{"image": <base64>, "question": ..., "max_steps": N}`` or a
  multipart upload (``image`` file, ``question`` field). ``?stream=true`` (or
  ``Accept: text/event-stream``) streams each node's trace records as server-sent
  events (``event: step``), then ``event: result``.
- ``POST /v1/correct`` — ``{"image": <base64>, "text": ...}``: the text checked claim by
  claim and corrected.

Bad input is a 4xx with ``{"error": "..."}``: 413 for a body over the size limit,
400 for undecodable base64, an unreadable image or a bad question, 422 for a
missing field, 415 for another content type.
"""

# No ``from __future__ import annotations``: Ray Serve rebuilds the class-based views, and
# FastAPI must see real ``Request`` annotations, not strings.

import argparse
import asyncio
import base64
import binascii
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from lavr.core_model.errors import InputError
from lavr.tools.base import ExpertPool
from lavr.tools.detect import DetectorLoader

if TYPE_CHECKING:
    from lavr.agents.visual_agent import VisualAgent

logger = logging.getLogger(__name__)

#: Default largest request body, in bytes (an image as base64 is 4/3 of its size).
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


def import_serve() -> Any:
    """``ray.serve``.

    Raises:
        InputError: Ray Serve is not installed (names the extra).
    """
    try:
        from ray import serve
    except ImportError as exc:
        raise InputError(f"lavr serve needs Ray Serve ({exc}); pip install 'lavr[ray]'") from exc
    return serve


class ServedExperts(ExpertPool):
    """An expert pool whose detectors run in the ``Detector`` deployment (through
    ``handle``); other experts (OCR, segmentation) load in-process as usual.

    Args:
        handle: The ``Detector`` deployment handle.
    """

    def __init__(self, handle: Any) -> None:
        super().__init__()
        self.handle = handle

    def get(self, key: str, loader: Any) -> Any:
        """The expert under ``key``; a detector becomes a proxy of the deployment."""
        if not isinstance(loader, DetectorLoader):
            return super().get(key, loader)
        spec = loader.spec
        ident = (spec.weights[0] if spec.explicit else spec.name, loader.labels, loader.device)

        def remote(images: list[np.ndarray], conf: float) -> list[Any]:
            return self.handle.predict.remote((ident, images, conf)).result()

        return super().get(key, lambda: loader.proxy(remote))


def _detector_deployment(serve: Any, *, gpus: float, max_replicas: int) -> Any:
    @serve.deployment(
        name="Detector",
        ray_actor_options={"num_gpus": 1} if gpus >= 1 else {"num_cpus": 1},
        autoscaling_config={"min_replicas": 1, "max_replicas": max_replicas,
                            "target_ongoing_requests": 8},
        max_ongoing_requests=64)
    class Detector:
        """Detectors, batched across concurrent requests."""

        def __init__(self) -> None:
            from lavr.tools.base import ExpertPool

            self.pool = ExpertPool()

        @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.01)
        async def predict(self, calls: list[tuple[Any, list[np.ndarray], float]]) -> list[Any]:
            """Each call: ``((detector, labels, device), images, conf)`` → its detections."""
            from lavr.tools.detect import predict_raw

            groups: dict[Any, list[tuple[int, int]]] = defaultdict(list)
            for ci, (spec, images, conf) in enumerate(calls):
                for ii, image in enumerate(images):
                    groups[(spec, conf, image.shape)].append((ci, ii))
            out: list[list[Any]] = [[None] * len(images) for _, images, _ in calls]
            for (spec, conf, _), where in groups.items():
                detector, labels, device = spec
                images = [calls[ci][1][ii] for ci, ii in where]
                dets = await asyncio.to_thread(predict_raw, detector, images, labels=labels,
                                               conf=conf, experts=self.pool, device=device)
                for (ci, ii), d in zip(where, dets, strict=True):
                    out[ci][ii] = d
            return out

    return Detector


def _error(status: int, message: str) -> Any:
    return JSONResponse({"error": message}, status_code=status)


def _decode_b64(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise InputError("'image' must be a non-empty base64 string")
    if value.startswith("data:") and "," in value:  # a data URL
        value = value.split(",", 1)[1]
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"'image' is not valid base64 ({exc})") from exc


def build_app(args: argparse.Namespace, *, gpus: float = 0.0) -> Any:
    """The Serve application (``Agent`` ingress bound to the ``Detector`` deployment)."""
    serve = import_serve()
    max_bytes = int(args.max_bytes)
    api = FastAPI(title="lavr", docs_url=None, redoc_url=None)
    detector = _detector_deployment(serve, gpus=gpus, max_replicas=args.max_replicas)

    @serve.deployment(name="Agent", autoscaling_config={
        "min_replicas": 1, "max_replicas": args.max_replicas, "target_ongoing_requests": 8},
        max_ongoing_requests=64)
    @serve.ingress(api)
    class Agent:
        """The ingress: the agent graph per request, detectors through ``Detector``."""

        def __init__(self, detector_handle: Any) -> None:
            from lavr.apps.cli import agent_from_args

            self.agent = agent_from_args(args)
            self.agent.context.experts = ServedExperts(detector_handle)
            self.agent.context.settings.update(batch_size=args.batch_size,
                                               batch_wait_ms=args.batch_wait_ms)

        async def _body(self, request: Request) -> tuple[bytes, str, dict[str, Any]]:
            """``(image bytes, question or text, options)`` of a JSON or multipart request."""
            size = request.headers.get("content-length")
            if size is not None and size.isdigit() and int(size) > max_bytes:
                raise _TooLarge(int(size))
            body = await request.body()
            if len(body) > max_bytes:
                raise _TooLarge(len(body))
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind == "application/json":
                try:
                    data = json.loads(body)
                except ValueError as exc:
                    raise InputError(f"the body is not valid JSON ({exc})") from exc
                if not isinstance(data, dict):
                    raise InputError("the body must be a JSON object")
                return _decode_b64(data.get("image")), data.get("question") or data.get(
                    "text"), data
            if kind == "multipart/form-data":
                form = await request.form()
                upload = form.get("image")
                if upload is None or isinstance(upload, str):
                    raise InputError("the upload needs an 'image' file field")
                data = {k: v for k, v in form.items() if isinstance(v, str)}
                return await upload.read(), data.get("question") or data.get("text"), data
            raise _Unsupported(kind or "no content type")

        @api.get("/healthz")
        async def healthz(self) -> dict[str, str]:
            return {"status": "ok"}

        @api.post("/v1/ask")
        async def ask(self, request: Request) -> Any:
            try:
                image, question, data = await self._body(request)
                if not question:
                    return _error(422, "a 'question' field is needed")
                max_steps = data.get("max_steps")
                if max_steps is not None and (not str(max_steps).isdigit()
                                              or not 1 <= int(max_steps) <= 100):
                    return _error(400, "'max_steps' must be an integer from 1 to 100")
                steps = int(max_steps) if max_steps is not None else None
                agent = self.agent.fork()
                stream = request.query_params.get("stream", "").lower() in ("1", "true") or \
                    "text/event-stream" in request.headers.get("accept", "")
                if stream:
                    from lavr.core_model.images import load_image

                    arr = await asyncio.to_thread(load_image, image)  # bad image: 400, not a stream
                    return StreamingResponse(_sse(agent, arr, question, steps),
                                             media_type="text/event-stream")
                result = await asyncio.to_thread(agent.run, image, question, max_steps=steps)
                return JSONResponse(_jsonable(result.to_dict()))
            except (_TooLarge, _Unsupported, InputError) as exc:
                return _refusal(exc, max_bytes)

        @api.post("/v1/correct")
        async def correct(self, request: Request) -> Any:
            try:
                image, text, data = await self._body(request)
                if not text:
                    return _error(422, "a 'text' field is needed")
                result = await asyncio.to_thread(self.agent.fork().correct, image, text,
                                                 policy=data.get("policy"))
                return JSONResponse(_jsonable(result.to_dict()))
            except (_TooLarge, _Unsupported, InputError) as exc:
                return _refusal(exc, max_bytes)

    return Agent.bind(detector.bind())


def _refusal(exc: Exception, max_bytes: int) -> Any:
    """The 4xx response for a request the server refuses (too large, wrong type, bad input)."""
    if isinstance(exc, _TooLarge):
        return _error(413, f"the request is {exc.size} bytes; the limit is {max_bytes}")
    if isinstance(exc, _Unsupported):
        return _error(415, f"send application/json or multipart/form-data, not {exc}")
    return _error(400, str(exc))


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class _Unsupported(Exception):
    pass


def _jsonable(value: Any) -> Any:
    from lavr.apps.batch import encode_record

    return json.loads(encode_record(value))


async def _sse(agent: "VisualAgent", image: np.ndarray, question: str,
               max_steps: int | None) -> AsyncIterator[str]:
    """Server-sent events: ``step`` per node (its trace records), then ``result``."""
    from lavr.agents.result import AgentResult, StepEvent

    try:
        async for event in agent.astream(image, question, max_steps=max_steps):
            if isinstance(event, StepEvent):
                payload = {"node": event.node, "records": [r.to_dict() for r in event.records]}
                yield f"event: step\ndata: {json.dumps(_jsonable(payload))}\n\n"
            elif isinstance(event, AgentResult):
                yield f"event: result\ndata: {json.dumps(_jsonable(event.to_dict()))}\n\n"
    except InputError as exc:
        yield f"event: error\ndata: {json.dumps({'error': str(exc)})}\n\n"




__all__ = ["DEFAULT_MAX_BYTES", "ServedExperts", "build_app", "import_serve"]

"""Peer server for `cargo make bench`: FastAPI with the sse-starlette library's
EventSourceResponse (its own pings and disconnect handling), one asyncio.Queue per subscriber.

GET  /events   text/event-stream; every publish arrives as one `data: <json>` event
POST /publish  the JSON body goes to every subscriber's queue; answers {"subscribers": n}

Run: python sse_starlette_peer.py PORT   (fastapi, uvicorn[standard], sse-starlette; 127.0.0.1)
"""
import asyncio
import json
import sys

import uvicorn
from fastapi import FastAPI, Request
from sse_starlette.sse import EventSourceResponse

app = FastAPI()
queues: set[asyncio.Queue] = set()


@app.get("/events")
async def events() -> EventSourceResponse:
    queue: asyncio.Queue = asyncio.Queue()
    queues.add(queue)

    async def stream():
        try:
            while True:
                item = await queue.get()
                yield {"data": json.dumps(item)}
        finally:
            queues.discard(queue)

    return EventSourceResponse(stream())


@app.post("/publish")
async def publish(request: Request) -> dict:
    item = await request.json()
    for queue in tuple(queues):
        queue.put_nowait(item)
    return {"subscribers": len(queues)}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python sse_starlette_peer.py PORT")
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)

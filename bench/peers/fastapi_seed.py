"""Peer server for `cargo make bench`: FastAPI's StreamingResponse over an async generator,
one asyncio.Queue per subscriber -- the SSE pattern most FastAPI guides show.

GET  /events   text/event-stream; every publish arrives as one `data: <json>` event
POST /publish  the JSON body goes to every subscriber's queue; answers {"subscribers": n}

Run: python fastapi_seed.py PORT   (fastapi and uvicorn[standard] installed; listens on 127.0.0.1)
"""
import asyncio
import json
import sys

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

app = FastAPI()
queues: set[asyncio.Queue] = set()


@app.get("/events")
async def events(request: Request) -> StreamingResponse:
    queue: asyncio.Queue = asyncio.Queue()
    queues.add(queue)

    async def stream():
        try:
            while not await request.is_disconnected():
                item = await queue.get()
                yield f"data: {json.dumps(item)}\n\n"
        finally:
            queues.discard(queue)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@app.post("/publish")
async def publish(request: Request) -> dict:
    item = await request.json()
    for queue in tuple(queues):
        queue.put_nowait(item)
    return {"subscribers": len(queues)}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python fastapi_seed.py PORT")
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)

// Peer server for `cargo make bench`: Node's own `http` module, no framework.
//   GET  /events   text/event-stream; every publish arrives as one `data:` event
//   POST /publish  the body goes to every open stream; answers {"subscribers": n}
// A body with line breaks becomes several `data:` lines, which a client joins back with "\n".
// Run: node node_http.js PORT   (listens on 127.0.0.1)
'use strict';
const http = require('node:http');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node node_http.js PORT');
  process.exit(2);
}
const streams = new Set();
const MAX_BODY = 1 << 20;

function frame(body) {
  return body.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join('') + '\n';
}

http
  .createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === '/events') {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache',
        Connection: 'keep-alive',
      });
      res.flushHeaders();
      streams.add(res);
      res.on('close', () => streams.delete(res));
    } else if (req.method === 'POST' && path === '/publish') {
      const parts = [];
      let size = 0;
      req.on('data', (part) => {
        size += part.length;
        if (size > MAX_BODY) req.destroy();
        else parts.push(part);
      });
      req.on('end', () => {
        const event = frame(Buffer.concat(parts).toString('utf8'));
        for (const s of streams) s.write(event);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ subscribers: streams.size }));
      });
    } else {
      res.writeHead(404).end();
    }
  })
  .listen(port, '127.0.0.1');

// The operations port (--metrics-port): GET /metrics (Prometheus text format), /healthz (200
// while the event loop answers) and /readyz (200 once nothing holds the readiness gate, else
// 503 with the reasons as JSON). Read-only: nothing here changes the cache.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { LocalCachedError } from '../errors'
import type { Logger } from '../logger'
import type { Readiness } from '../server/readiness'
import type { DaemonMetrics } from './registry'

export interface MetricsServer {
  readonly port: number
  close(): Promise<void>
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' })
  res.end(body)
}

const JSON_TYPE = 'application/json; charset=utf-8'

export function cannotListenForMetrics(host: string, port: number, err: NodeJS.ErrnoException): LocalCachedError {
  const why =
    err.code === 'EADDRINUSE' ? 'the port is in use; choose another --metrics-port'
    : err.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges); choose a port ≥ 1024'
    : err.code === 'EADDRNOTAVAIL' ? 'that address is not one of this host\'s; check --metrics-host'
    : err.message
  return new LocalCachedError('CannotListen', `cannot listen for metrics on ${host}:${port}: ${why} (${err.code ?? 'error'})`, { cause: err })
}

export async function startMetricsServer(options: { host: string; port: number; metrics: DaemonMetrics; readiness: Readiness; log: Logger }): Promise<MetricsServer> {
  const { metrics, readiness, log } = options
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n')
    }
    const path = (req.url ?? '/').split('?')[0]
    switch (path) {
      case '/metrics':
        metrics.scrape().then(
          (text) => send(res, 200, metrics.registry.contentType, text),
          (err) => {
            log.error({ err }, 'metrics scrape failed')
            send(res, 500, 'text/plain; charset=utf-8', `scrape failed: ${(err as Error).message}\n`)
          },
        )
        return
      case '/healthz':
        return send(res, 200, JSON_TYPE, '{"status":"ok"}\n')
      case '/readyz':
        if (readiness.ready) return send(res, 200, JSON_TYPE, '{"status":"ready"}\n')
        return send(res, 503, JSON_TYPE, `${JSON.stringify({ status: 'not ready', pending: readiness.pending() })}\n`)
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics, /healthz or /readyz\n')
    }
  }
  const server: Server = createServer(handle)
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(cannotListenForMetrics(options.host, options.port, err)))
    server.listen(options.port, options.host, () => resolve())
  })
  server.on('error', (err) => log.error({ err }, 'metrics server error'))
  const port = (server.address() as { port: number }).port
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        // A scraper keeps its connection open between scrapes: it must not hold up shutdown.
        server.closeAllConnections()
      }),
  }
}

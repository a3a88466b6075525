// A vitest reporter (vitest.config.mts adds it after the default one): after the run it lists
// the tests skipped because a peer tool (redis-cli, redis-server, memcached, nats-server,
// prometheus/promtool, tmux) or root was missing — tests/helpers.ts names them
// "… (skipped: <reason>)" — so a shorter test run says why it was shorter.
const MARK = ' (skipped: '

export default class PeerSkipsReporter {
  onTestRunEnd(testModules) {
    const groups = new Map() // "file > suite (skipped: …)" -> number of tests
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        if (test.result().state !== 'skipped') continue
        const names = []
        for (let node = test; node && node.type !== 'module'; node = node.parent) names.unshift(node.name)
        const at = names.findIndex((n) => n.includes(MARK))
        if (at < 0) continue
        const key = `${module.relativeModuleId} > ${names.slice(0, at + 1).join(' > ')}`
        groups.set(key, (groups.get(key) ?? 0) + 1)
      }
    }
    if (groups.size === 0) return
    const total = [...groups.values()].reduce((a, b) => a + b, 0)
    const lines = [`\n Peer-tool tests skipped: ${total} (README "Tests and peer tools" says how to run them)`]
    for (const [key, n] of groups) lines.push(`   ↓ ${key}${n > 1 ? ` [${n} tests]` : ''}`)
    process.stdout.write(lines.join('\n') + '\n\n')
  }
}

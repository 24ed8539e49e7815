/// The web view's page, style and script, served from the binary as they are: no build step, nothing fetched from
/// the internet. The script reads `/ui/state` and `/ui/energy`, draws the hierarchy with DOM nodes (names set as
/// text, never as HTML) and the energy chart as SVG, and keeps both live: it re-reads the state on every server-sent
/// event of `/events` when that stream is open, and polls every 2 s when it is not.
enum WebViewPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Torpor</title>
        <link rel="stylesheet" href="/ui/style.css">
        </head>
        <body>
        <header class="top">
          <h1>Torpor <span id="leader-name"></span></h1>
          <div class="status">
            <span id="mode" data-mode="starting">starting</span>
            <span id="updated"></span>
            <span id="error" hidden></span>
          </div>
        </header>
        <section id="summary" aria-label="cluster">
          <div class="card"><div class="label">cluster power</div><div class="value" id="cluster-watts">–</div></div>
          <div class="card"><div class="label">hosts awake</div><div class="value" id="hosts-awake">–</div>
            <div class="detail" id="hosts-detail"></div></div>
          <div class="card"><div class="label">energy used</div><div class="value" id="energy-used">–</div></div>
          <div class="card"><div class="label">saved against always-on</div>
            <div class="value" id="energy-saved">–</div>
            <div class="detail" id="saved-share"></div></div>
        </section>
        <section id="hierarchy" aria-label="hierarchy">
          <h2>Hierarchy</h2>
          <div id="tree"><p class="empty">loading…</p></div>
        </section>
        <section id="energy" aria-label="energy over time">
          <h2>Energy over time</h2>
          <svg id="chart" viewBox="0 0 900 330" role="img"
            aria-label="cluster watts, hosts awake and saved share"></svg>
        </section>
        <script src="/ui/app.js"></script>
        </body>
        </html>
        """#

    static let style = #"""
        :root { --on: #2e7d32; --asleep: #5c6bc0; --waking: #ef6c00; --failed: #c62828; --ink: #222; --muted: #666;
          --line: #ddd; --bg: #fafafa; font-family: system-ui, sans-serif; color: var(--ink); background: var(--bg); }
        body { margin: 0 auto; max-width: 1200px; padding: 0 16px 32px; }
        .top { display: flex; align-items: baseline; justify-content: space-between; flex-wrap: wrap; gap: 8px; }
        h1 { font-size: 1.4em; margin: 16px 0 8px; }
        h1 #leader-name { font-weight: normal; color: var(--muted); }
        h2 { font-size: 1.1em; margin: 20px 0 8px; }
        .status { font-size: 0.9em; color: var(--muted); display: flex; gap: 12px; }
        #mode[data-mode="events"] { color: var(--on); }
        #error { color: var(--failed); }
        #summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
        .card .label { font-size: 0.85em; color: var(--muted); }
        .card .value { font-size: 1.6em; font-variant-numeric: tabular-nums; }
        .card .detail { font-size: 0.85em; color: var(--muted); }
        #chart { width: 100%; height: auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
        #chart .axis { stroke: var(--line); }
        #chart text { font-size: 12px; fill: var(--muted); }
        #chart text.title { fill: var(--ink); font-size: 13px; }
        #chart .series { fill: none; stroke-width: 2; }
        #chart .series.watts { stroke: #d84315; }
        #chart .series.awake { stroke: var(--on); }
        #chart .series.saved { stroke: var(--asleep); }
        .leader, .gm { font-weight: 600; margin: 6px 0; }
        .gm { margin-left: 16px; }
        .hosts { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 12px;
          margin-left: 32px; }
        .host { background: #fff; border: 1px solid var(--line); border-left: 6px solid var(--line); border-radius: 8px;
          padding: 8px 12px; }
        .host[data-state="active"] { border-left-color: var(--on); }
        .host[data-state="sleeping"] { border-left-color: var(--asleep); background: #f3f4fb; }
        .host[data-state="waking"] { border-left-color: var(--waking); }
        .host[data-state="failed"] { border-left-color: var(--failed); }
        .host header { display: flex; justify-content: space-between; align-items: baseline; }
        .host .name { font-weight: 600; }
        .badge { font-size: 0.8em; padding: 1px 8px; border-radius: 10px; color: #fff; background: var(--muted); }
        .badge.active { background: var(--on); }
        .badge.sleeping { background: var(--asleep); }
        .badge.waking { background: var(--waking); }
        .badge.failed { background: var(--failed); }
        .host .watts { font-size: 1.3em; font-variant-numeric: tabular-nums; margin: 4px 0; }
        .host .meta { font-size: 0.85em; color: var(--muted); }
        .vms { list-style: none; padding: 0; margin: 6px 0 0; font-size: 0.9em; }
        .vm { display: flex; gap: 6px; flex-wrap: wrap; border-top: 1px dotted var(--line); padding: 2px 0; }
        .vm .state, .vm .vc, .vm .ip { color: var(--muted); }
        .unassigned { margin-left: 32px; }
        .empty { color: var(--muted); }
        """#

    static let script = #"""
        "use strict";
        // Polled this often without the event stream, and as a safety net with it.
        const POLL_MS = 2000;
        const POLL_WITH_EVENTS_MS = 15000;
        const EVENTS_RETRY_MS = 30000;
        const STATE_LABELS = { active: "on", sleeping: "asleep", waking: "waking", failed: "failed" };

        const view = { state: null, samples: [], capacity: 720, intervalSeconds: 5, mode: "polling",
          stateLoading: false, stateAgain: false, pollTimer: null, source: null };

        function element(tag, attributes, ...children) {
          const node = document.createElement(tag);
          for (const [key, value] of Object.entries(attributes || {})) {
            if (key === "class") node.className = value; else node.setAttribute(key, value);
          }
          for (const child of children) {
            if (child === null || child === undefined) continue;
            node.append(typeof child === "string" ? document.createTextNode(child) : child);
          }
          return node;
        }

        function svg(tag, attributes, text) {
          const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
          for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
          if (text !== undefined) node.textContent = text;
          return node;
        }

        function watts(value) { return value === undefined || value === null ? "–" : `${Math.round(value)} W`; }
        function kWh(value) { return value === undefined ? "–" : `${value.toFixed(value < 1 ? 4 : 2)} kWh`; }
        function percent(share) {
          return share === undefined || share === null ? "–" : `${(share * 100).toFixed(1)} %`;
        }
        function bytes(value) {
          const units = ["B", "KiB", "MiB", "GiB", "TiB"];
          let index = 0;
          while (value >= 1024 && index < units.length - 1) { value /= 1024; index++; }
          return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[index]}`;
        }
        function duration(seconds) {
          if (seconds === undefined || seconds === null) return "";
          if (seconds < 90) return `${Math.round(seconds)} s`;
          if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
          return `${(seconds / 3600).toFixed(1)} h`;
        }
        function clock(time) { return new Date(time).toLocaleTimeString([], { hour12: false }); }

        async function getJSON(path) {
          const response = await fetch(path, { cache: "no-store" });
          if (!response.ok) throw new Error(`${path}: ${response.status} ${(await response.text()).trim()}`);
          return response.json();
        }

        function showError(error) {
          const node = document.getElementById("error");
          if (error) {
            node.textContent = String(error.message || error);
            node.hidden = false;
            document.body.dataset.error = node.textContent;
          } else {
            node.hidden = true;
            delete document.body.dataset.error;
          }
        }

        function showMode() {
          const node = document.getElementById("mode");
          node.dataset.mode = view.mode;
          node.textContent = view.mode === "events" ? "live (events)" : `polling every ${POLL_MS / 1000} s`;
        }

        // Coalesced: an event arriving while the state is being read makes one more read afterwards.
        async function refreshState() {
          if (view.stateLoading) { view.stateAgain = true; return; }
          view.stateLoading = true;
          try {
            do {
              view.stateAgain = false;
              const state = await getJSON("/ui/state");
              view.state = state;
              renderState(state);
              showError(null);
            } while (view.stateAgain);
          } catch (error) {
            showError(error);
          } finally {
            view.stateLoading = false;
          }
        }

        function schedulePoll() {
          clearTimeout(view.pollTimer);
          view.pollTimer = setTimeout(async () => {
            await refreshState();
            schedulePoll();
          }, view.mode === "events" ? POLL_WITH_EVENTS_MS : POLL_MS);
        }

        async function refreshEnergy() {
          try {
            const last = view.samples.length ? view.samples[view.samples.length - 1].time : null;
            const reply = await getJSON(last === null ? "/ui/energy" : `/ui/energy?after=${last}`);
            view.capacity = reply.capacity;
            view.intervalSeconds = reply.intervalSeconds;
            view.samples = view.samples.concat(reply.samples).slice(-reply.capacity);
            renderChart();
          } catch (error) {
            showError(error);
          }
          setTimeout(refreshEnergy, Math.max(1000, view.intervalSeconds * 1000));
        }

        // The event stream (`event: system|management`, `dropped` when the page fell behind): any may change the view.
        function subscribe() {
          if (!window.EventSource) return;
          const source = new EventSource("/events");
          view.source = source;
          const changed = () => refreshState();
          source.onopen = () => { view.mode = "events"; showMode(); schedulePoll(); };
          source.onmessage = changed;
          for (const name of ["system", "management", "dropped"]) {
            source.addEventListener(name, changed);
          }
          source.onerror = () => {
            if (view.mode !== "polling") { view.mode = "polling"; showMode(); schedulePoll(); }
            if (source.readyState === EventSource.CLOSED) setTimeout(subscribe, EVENTS_RETRY_MS);
          };
        }

        function renderState(state) {
          document.getElementById("leader-name").textContent = state.leader;
          document.getElementById("updated").textContent = `updated ${clock(state.time)}`;
          const cluster = state.cluster;
          document.getElementById("cluster-watts").textContent = watts(cluster.watts);
          document.getElementById("hosts-awake").textContent = `${cluster.hostsAwake} / ${cluster.hosts}`;
          document.getElementById("hosts-detail").textContent =
            `${cluster.hostsAsleep} asleep, ${cluster.hostsWaking} waking, ${cluster.hostsFailed} failed`;
          document.getElementById("energy-used").textContent = kWh(cluster.usedKilowattHours);
          document.getElementById("energy-saved").textContent = kWh(cluster.savedKilowattHours);
          document.getElementById("saved-share").textContent =
            cluster.savedShare === undefined ? "nothing measured yet" : `${percent(cluster.savedShare)} of always-on`;

          const tree = element("div", {});
          tree.append(element("div", { class: "leader", "data-leader": state.leader }, `group leader ${state.leader}`));
          for (const manager of state.groupManagers) {
            const title = `group manager ${manager.id}`;
            tree.append(element("div", { class: "gm", "data-group-manager": manager.id }, title));
            const hosts = element("div", { class: "hosts" });
            for (const host of manager.hosts) hosts.append(renderHost(host));
            if (!manager.hosts.length) hosts.append(element("p", { class: "empty" }, "no hosts"));
            tree.append(hosts);
          }
          if (state.unassigned.length) {
            tree.append(element("div", { class: "gm" }, "on no host"));
            tree.append(element("ul", { class: "vms unassigned" }, ...state.unassigned.map(renderVM)));
          }
          document.getElementById("tree").replaceChildren(...tree.childNodes);
        }

        function renderHost(host) {
          const label = STATE_LABELS[host.state] || host.state;
          const meta = [`${host.cores} cores`, bytes(host.memoryBytes)];
          if (host.secondsInState !== undefined) meta.push(`${label} for ${duration(host.secondsInState)}`);
          if (!host.connected && host.state === "active") meta.push("agent not connected");
          const cordoned = host.cordonReason !== undefined;
          if (cordoned) meta.push(host.cordonReason ? `cordoned: ${host.cordonReason}` : "cordoned");
          if (host.hypervisorProblem !== undefined) meta.push(`libvirtd does not answer: ${host.hypervisorProblem}`);
          return element("div", { class: "host", "data-host": host.id, "data-state": host.state,
                                  "data-cordoned": cordoned ? "yes" : "no" },
            element("header", {},
              element("span", { class: "name" }, host.id),
              element("span", { class: `badge ${host.state}` }, label)),
            element("div", { class: "watts" }, watts(host.watts)),
            element("div", { class: "meta" }, meta.join(" · ")),
            element("ul", { class: "vms" }, ...host.vms.map(renderVM)));
        }

        function renderVM(vm) {
          return element("li", { class: "vm", "data-vm": vm.name, "data-state": vm.state },
            element("span", { class: "name" }, vm.name),
            element("span", { class: "state" }, vm.state),
            vm.ip ? element("span", { class: "ip" }, vm.ip) : null,
            element("span", { class: "vc" }, `vc ${vm.cluster}`));
        }

        // Three panels over the same time axis: cluster watts, hosts awake (steps), saved share.
        function renderChart() {
          const chart = document.getElementById("chart");
          const samples = view.samples;
          const width = 900, left = 60, right = 20, panelHeight = 80, gap = 26, top = 22;
          const nodes = [];
          const panels = [
            { name: "watts", title: "cluster power (W)", value: s => s.watts, step: false,
              format: v => `${Math.round(v)} W` },
            { name: "awake", title: "hosts awake", value: s => s.hostsAwake, step: true, format: v => `${v}` },
            { name: "saved", title: "saved share (%)", step: false, format: v => `${v.toFixed(1)} %`,
              value: s => s.savedShare === undefined ? null : s.savedShare * 100 },
          ];
          const start = samples.length ? samples[0].time : 0;
          const end = samples.length ? samples[samples.length - 1].time : 1;
          const span = Math.max(1, end - start);
          const x = time => left + (width - left - right) * (samples.length > 1 ? (time - start) / span : 1);
          panels.forEach((panel, index) => {
            const y0 = top + index * (panelHeight + gap);
            const points = samples.map(s => [s.time, panel.value(s)]).filter(p => p[1] !== null && p[1] !== undefined);
            let low = 0, high = panel.name === "saved" ? 100 : 1;
            if (panel.name === "awake") high = Math.max(1, ...samples.map(s => s.hosts));
            for (const [, v] of points) { low = Math.min(low, v); high = Math.max(high, v); }
            const y = v => y0 + panelHeight - (panelHeight * (v - low)) / Math.max(1e-9, high - low);
            const latest = points.length ? panel.format(points[points.length - 1][1]) : "no samples yet";
            nodes.push(svg("text", { x: left, y: y0 - 6, class: "title" }, `${panel.title}: ${latest}`));
            const baseline = y0 + panelHeight;
            nodes.push(svg("line", { x1: left, y1: baseline, x2: width - right, y2: baseline, class: "axis" }));
            nodes.push(svg("line", { x1: left, y1: y0, x2: left, y2: y0 + panelHeight, class: "axis" }));
            nodes.push(svg("text", { x: left - 6, y: y0 + 10, "text-anchor": "end" }, panel.format(high)));
            nodes.push(svg("text", { x: left - 6, y: y0 + panelHeight, "text-anchor": "end" }, panel.format(low)));
            if (points.length === 1) {
              const [time, value] = points[0];
              nodes.push(svg("circle", { cx: x(time), cy: y(value), r: 3, class: `series ${panel.name}` }));
            } else if (points.length > 1) {
              let d = "";
              points.forEach(([time, value], i) => {
                const px = x(time).toFixed(1), py = y(value).toFixed(1);
                if (i === 0) d += `M${px},${py}`;
                else if (panel.step) d += `H${px}V${py}`;
                else d += `L${px},${py}`;
              });
              nodes.push(svg("path", { d, class: `series ${panel.name}`, "data-points": points.length }));
            }
          });
          const bottom = top + panels.length * (panelHeight + gap) - gap + 16;
          if (samples.length) {
            nodes.push(svg("text", { x: left, y: bottom }, clock(start)));
            nodes.push(svg("text", { x: width - right, y: bottom, "text-anchor": "end" }, clock(end)));
          }
          chart.replaceChildren(...nodes);
          chart.dataset.samples = String(samples.length);
        }

        showMode();
        refreshState().then(schedulePoll);
        refreshEnergy();
        subscribe();
        """#
}

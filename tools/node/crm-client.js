// A council CRM's client for Convene, written from contracts/ alone: the AsyncAPI document
// says where to publish and what to consume (exchange, queue, AMQP properties, user id),
// the JSON Schemas say what each event holds. It runs one whole initial conference (two
// children, six participants, their responses, four agencies' reports, the conference
// held and the chair's outcome), reads every fact Convene sends back from the CRM's own
// queue, validates each against its schema, and prints one JSON line of what it saw.
//
//   node crm-client.js --url amqp://crm:PASSWORD@rabbitmq:5672/convene [--contracts DIR]
//                      [--tenant 886] [--conference ID] [--timeout SECONDS]
//
// Exit code 0 when every event it published was taken, every fact valid, and the
// conference's whole flow (invitations, report requests and receipts, outcome, plans)
// came back; 1 otherwise.
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const amqplib = require('amqplib');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;

function options(argv) {
  const given = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) {
      throw new Error(`expected --name value pairs, got ${argv[i]}`);
    }
    given[argv[i].slice(2)] = argv[i + 1];
  }
  return {
    url: given.url || process.env.AMQP_URL,
    contracts: given.contracts || path.join(__dirname, '..', '..', 'contracts'),
    tenant: given.tenant || '886',
    conference: given.conference || `CONF-${crypto.randomUUID().slice(0, 8).toUpperCase()}`,
    timeout: Number(given.timeout || 60),
  };
}

// Where the CRM publishes and what it consumes, from the AsyncAPI document's CRM operations.
function wiring(asyncapi) {
  const resolve = (ref) => ref.slice(2).split('/').reduce((node, key) => node[key], asyncapi);
  const send = asyncapi.operations['crm.send'];
  const receive = asyncapi.operations['crm.receive'];
  const out = resolve(send.channel.$ref);
  const into = resolve(receive.channel.$ref);
  return {
    exchange: out.bindings.amqp.exchange.name,
    queue: into.bindings.amqp.queue.name,
    userId: send.bindings.amqp.userId,
    deliveryMode: send.bindings.amqp.deliveryMode,
    contentType: asyncapi.defaultContentType,
    sends: send.messages.map((m) => resolve(m.$ref)).map((m) => (m.$ref ? resolve(m.$ref) : m).name),
  };
}

function validators(folder) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const byType = {};
  for (const file of fs.readdirSync(folder)) {
    if (file.endsWith('.json')) {
      const schema = JSON.parse(fs.readFileSync(path.join(folder, file), 'utf8'));
      byType[file.slice(0, -'.json'.length)] = ajv.compile(schema);
    }
  }
  return byType;
}

// One initial conference as the CRM records it, in the order the CRM publishes it.
function conference(id, tenant) {
  const events = [];
  const add = (type, time, data) =>
    events.push({
      specversion: '1.0',
      id: crypto.randomUUID(),
      source: 'crm',
      type,
      time,
      subject: id,
      tenant,
      correlationid: id,
      datacontenttype: 'application/json',
      data: { conference_id: id, ...data },
    });
  const family = [
    { person_id: 'MUM', name: 'Parent One', role: 'parent', child_ids: ['C1', 'C2'], has_parental_responsibility: true, lives_with_child: true },
    { person_id: 'DAD', name: 'Parent Two', role: 'parent', child_ids: ['C1', 'C2'], has_parental_responsibility: true, lives_with_child: false },
  ];
  const professionals = [
    { person_id: 'SW', name: 'Social Worker', role: 'social_worker', agency: "Children's Social Care" },
    { person_id: 'POL', name: 'Police Officer', role: 'police', agency: 'Police' },
    { person_id: 'HV', name: 'Health Visitor', role: 'health_visitor', agency: 'Community Health' },
    { person_id: 'SCH', name: 'Designated Teacher', role: 'school', agency: 'Primary School' },
  ];
  add('crm.conference.requested.v1', '2026-11-16T09:00:00Z', {
    kind: 'initial',
    strategy_discussion_date: '2026-11-06',
    scheduled_start: '2026-11-25T10:00:00+00:00',
    venue: { mode: 'in_person', address: 'Town Hall, Committee Room 2' },
    chair: { person_id: 'CHAIR', name: 'Conference Chair' },
    children: [
      { child_id: 'C1', given_name: 'Child', family_name: 'One', date_of_birth: '2017-03-01', sex: 'female', nhs_number: '9434765919' },
      { child_id: 'C2', given_name: 'Child', family_name: 'Two', date_of_birth: '2023-06-01', sex: 'male' },
    ],
    participants: [...family, ...professionals],
  });
  const responses = { MUM: 'attending', DAD: 'apologies', SW: 'attending', POL: 'attending', HV: 'attending', SCH: 'apologies' };
  let hour = 10;
  for (const [person, response] of Object.entries(responses)) {
    add('crm.invitation.responded.v1', `2026-11-17T${String(hour++).padStart(2, '0')}:00:00Z`, { person_id: person, response });
  }
  let day = 18;
  for (const professional of professionals) {
    const at = `2026-11-${day++}T16:00:00+00:00`;
    add('crm.report.submitted.v1', at, {
      report_id: `${id}-R-${professional.person_id}`,
      agency: professional.agency,
      author_person_id: professional.person_id,
      submitted_at: at,
      sections: ['voice_of_child', 'family_strengths', 'developmental_needs', 'parental_capacity', 'wider_factors'],
      document: { uri: `crm://reports/${id}/${professional.person_id}`, media_type: 'application/pdf', sha256: crypto.createHash('sha256').update(at).digest('hex') },
    });
  }
  add('crm.conference.held.v1', '2026-11-25T12:00:00Z', { held_on: '2026-11-25', attended: ['CHAIR', 'MUM', 'SW', 'POL', 'HV'] });
  add('crm.outcome.decided.v1', '2026-11-25T12:30:00Z', {
    decided_at: '2026-11-25T12:30:00+00:00',
    decided_by: 'CHAIR',
    children: [
      { child_id: 'C1', decision: 'child_protection_plan', categories: ['neglect', 'emotional'] },
      { child_id: 'C2', decision: 'child_protection_plan', categories: ['neglect'] },
    ],
    core_group: ['MUM', 'SW', 'HV'],
    lead_social_worker: 'SW',
    recommendations: [],
  });
  return events;
}

// The facts a whole conference must bring back, by type: at least this many.
const EXPECTED = {
  'invitations.invitation.issued.v1': 7,  // the six participants and the chair
  'invitations.response.recorded.v1': 6,
  'reports.report.requested.v1': 4,
  'reports.report.received.v1': 4,
  'decisions.outcome.recorded.v1': 1,
  'decisions.plan.started.v1': 2,
  'decisions.core_group.due.v1': 1,
};

async function main() {
  const given = options(process.argv.slice(2));
  if (!given.url) throw new Error('--url (or AMQP_URL) is required');
  const asyncapi = JSON.parse(fs.readFileSync(path.join(given.contracts, 'asyncapi.json'), 'utf8'));
  const wire = wiring(asyncapi);
  const validate = validators(path.join(given.contracts, 'schemas'));
  const events = conference(given.conference, given.tenant);

  const invalid = [];
  for (const event of events) {  // what we publish must meet the contract too
    const check = validate[event.type];
    if (!wire.sends.includes(event.type)) invalid.push({ type: event.type, errors: ['not a CRM send operation message'] });
    else if (!check(event)) invalid.push({ type: event.type, id: event.id, errors: check.errors.map((e) => `${e.instancePath} ${e.message}`) });
  }

  if (invalid.length) {  // never publish what the contract would refuse
    console.log(JSON.stringify({ ok: false, conference: given.conference, published: 0, invalid }));
    process.exitCode = 1;
    return;
  }

  const connection = await amqplib.connect(given.url);
  const seen = {};
  const rejected = [];
  let facts = 0;
  let settle;
  const settled = new Promise((resolve) => { settle = resolve; });
  const complete = () => Object.entries(EXPECTED).every(([type, count]) => (seen[type] || 0) >= count);
  try {
    const consumer = await connection.createChannel();
    await consumer.prefetch(50);
    await consumer.checkQueue(wire.queue);
    await consumer.consume(wire.queue, (message) => {
      if (message === null) return;
      facts += 1;
      let fact;
      try {
        fact = JSON.parse(message.content.toString('utf8'));
      } catch {
        invalid.push({ type: message.properties.type, errors: ['not JSON'] });
        consumer.ack(message);
        return;
      }
      const check = validate[fact.type];
      if (!check) invalid.push({ type: fact.type, id: fact.id, errors: ['no schema for this type'] });
      else if (!check(fact)) invalid.push({ type: fact.type, id: fact.id, errors: check.errors.map((e) => `${e.instancePath} ${e.message}`) });
      if (message.properties.messageId !== fact.id) invalid.push({ type: fact.type, id: fact.id, errors: ['message_id is not the event id'] });
      const ours = fact.subject === given.conference || (fact.data && fact.data.conference_id === given.conference);
      if (fact.tenant === given.tenant && ours) {
        seen[fact.type] = (seen[fact.type] || 0) + 1;
        if (fact.type.endsWith('.input.rejected.v1')) rejected.push(fact.data);
      }
      consumer.ack(message);
      if (complete()) settle();
    });

    const publisher = await connection.createConfirmChannel();
    await publisher.checkExchange(wire.exchange);
    for (const event of events) {
      publisher.publish(wire.exchange, event.type, Buffer.from(JSON.stringify(event)), {
        deliveryMode: wire.deliveryMode,
        contentType: wire.contentType,
        messageId: event.id,
        type: event.type,
        userId: wire.userId,
        timestamp: Math.floor(Date.parse(event.time) / 1000),
      });
    }
    await publisher.waitForConfirms();

    let timer;
    const timedOut = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), given.timeout * 1000); });
    const ended = await Promise.race([settled.then(() => 'complete'), timedOut]);
    clearTimeout(timer);
    const ok = ended === 'complete' && invalid.length === 0 && rejected.length === 0;
    console.log(JSON.stringify({ ok, conference: given.conference, tenant: given.tenant, published: events.length, facts, seen, invalid, rejected, ended }));
    process.exitCode = ok ? 0 : 1;
  } finally {
    await connection.close();
  }
}

main().catch((error) => {
  console.log(JSON.stringify({ ok: false, error: String(error && error.message ? error.message : error) }));
  process.exitCode = 1;
});

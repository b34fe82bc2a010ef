// Connects with node-postgres (SCRAM-SHA-256), runs an extended-protocol query with a
// parameter and prints the rows and the field types as JSON.
const { Client } = require('pg');

async function main() {
  const client = new Client({ connectionString: process.env.DSN });
  await client.connect();
  const res = await client.query('select id, name, score, active, tags from test_types where id <= $1 order by id', [3]);
  let bad = null;
  try {
    await client.query('select nope from test_types');
  } catch (e) {
    bad = { code: e.code, position: e.position, message: e.message };
  }
  await client.end();
  console.log(JSON.stringify({ rows: res.rows, fields: res.fields.map(f => [f.name, f.dataTypeID]), bad }));
}

main().catch(e => { console.error(e); process.exit(1); });

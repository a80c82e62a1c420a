// Two copies of one collection on the real FerretDB: what one writes, the other finds on its next
// polls, reading only by `_id` (the change log and the changed documents), never by a filter that
// FerretDB would answer by reading the whole collection.
import mongoose, { type Connection, Schema } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testScope } from '../../test/support/isolation.ts';
import { CHANGES_FOLLOWED_MAX, CHANGES_PER_DOCUMENT, LiveCollection, UNLANDED_POLLS_MAX } from './live.ts';
import { type EnterpriseModels, enterpriseModels } from './model.ts';

interface NoteDoc {
  _id: string;
  seq: number;
  text: string;
}

const scope = testScope('enterprise-live');
const connections: Connection[] = [];
/** The filters of the `find` commands the reading copy sent, in order. */
const finds: Array<Record<string, unknown>> = [];

async function copy(monitored: boolean) {
  const conn = mongoose.createConnection(scope.config.MONGODB_URI, { dbName: scope.dbName, autoIndex: false, monitorCommands: monitored });
  await conn.asPromise();
  connections.push(conn);
  if (monitored) {
    conn.getClient().on('commandStarted', (event) => {
      if (event.commandName === 'find') finds.push(event.command.filter as Record<string, unknown>);
    });
  }
  const models: EnterpriseModels = await enterpriseModels(conn);
  const Note = conn.model<NoteDoc>('Note', new Schema<NoteDoc>({ _id: String, seq: Number, text: String }, { versionKey: false }));
  return { models, Note, notes: new LiveCollection<NoteDoc>('notes', Note, models.Counter, models.ChangeLog) };
}

let writer: Awaited<ReturnType<typeof copy>>;
let reader: Awaited<ReturnType<typeof copy>>;

/** Writes notes as the store does: counter values and change log first, then the documents. */
async function write(texts: Record<string, string>) {
  const ids = Object.keys(texts);
  const first = await writer.notes.reserve(ids);
  const docs = ids.map((id, i) => ({ _id: id, seq: first + i, text: texts[id] as string }));
  for (const doc of docs) await writer.Note.replaceOne({ _id: doc._id }, doc, { upsert: true });
  for (const doc of docs) writer.notes.apply(doc);
}

beforeAll(async () => {
  writer = await copy(false);
  reader = await copy(true);
  await write({ 'n-1': '旧笔记' });
  await reader.notes.load();
}, 60_000);

afterAll(async () => {
  await Promise.all(connections.map((conn) => conn.close()));
  await scope.cleanup();
});

describe('another copy’s writes', () => {
  it('are found through the change log, every read by _id', async () => {
    // Across a change-log document boundary: the values of the next writes fall into two of them.
    const ids = Array.from({ length: CHANGES_PER_DOCUMENT + 5 }, (_, i) => `n-${i + 2}`);
    await write(Object.fromEntries(ids.map((id) => [id, `笔记 ${id}`])));
    await write({ 'n-1': '改过的笔记' });
    finds.length = 0;
    expect(await reader.notes.refresh()).toBe(ids.length + 1);
    expect(reader.notes.get('n-1')?.text).toBe('改过的笔记');
    expect(reader.notes.get(`n-${CHANGES_PER_DOCUMENT + 6}`)?.text).toBe(`笔记 n-${CHANGES_PER_DOCUMENT + 6}`);
    expect(finds.length).toBeGreaterThan(ids.length);
    for (const filter of finds) expect(Object.keys(filter)).toEqual(['_id']);
    // Nothing moved: a poll reads the counter only.
    await reader.notes.refresh();
    finds.length = 0;
    expect(await reader.notes.refresh()).toBe(0);
    expect(finds).toEqual([{ _id: 'notes' }]);
  });

  it('a document that lands after a poll saw its counter value is found on the next poll', async () => {
    const first = await writer.notes.reserve(['late']);
    expect(await reader.notes.refresh()).toBe(0);
    await writer.Note.create({ _id: 'late', seq: first, text: '迟到的笔记' });
    expect(await reader.notes.refresh()).toBe(1);
    expect(reader.notes.get('late')?.text).toBe('迟到的笔记');
  });

  it('a write whose change-log entry and document land several polls after its counter value is still found, and then no longer looked for', async () => {
    // The counter value taken, nothing else yet (a writer held up by a busy store).
    await writer.models.Counter.updateOne({ _id: 'notes' }, { $inc: { seq: 1 } });
    const { seq } = (await writer.models.Counter.findById('notes').lean())!;
    for (let poll = 0; poll < 5; poll++) expect(await reader.notes.refresh()).toBe(0);
    await writer.models.ChangeLog.updateOne({ _id: `notes|${Math.floor(seq / CHANGES_PER_DOCUMENT)}` }, { $push: { entries: { seq, id: 'slow' } } }, { upsert: true });
    expect(await reader.notes.refresh()).toBe(0);
    await writer.Note.create({ _id: 'slow', seq, text: '很慢的笔记' });
    expect(await reader.notes.refresh()).toBe(1);
    expect(reader.notes.get('slow')?.text).toBe('很慢的笔记');
    finds.length = 0;
    expect(await reader.notes.refresh()).toBe(0);
    expect(finds).toEqual([{ _id: 'notes' }]);
  });

  it('a counter value whose write never lands (its writer died) is given up after UNLANDED_POLLS_MAX polls', async () => {
    await writer.models.Counter.updateOne({ _id: 'notes' }, { $inc: { seq: 1 } });
    for (let poll = 0; poll <= UNLANDED_POLLS_MAX; poll++) await reader.notes.refresh();
    finds.length = 0;
    await reader.notes.refresh();
    expect(finds).toEqual([{ _id: 'notes' }]);
  });

  it('writers opening the same new change-log document at once all land in it', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `together-${i}`);
    const firsts = await Promise.all(ids.map((id) => writer.notes.reserve([id])));
    await Promise.all(ids.map((id, i) => writer.Note.create({ _id: id, seq: firsts[i], text: `同时写入 ${i}` })));
    await reader.notes.refresh();
    await reader.notes.refresh();
    expect(ids.filter((id) => reader.notes.get(id) === undefined)).toEqual([]);
  });

  it('a copy more than CHANGES_FOLLOWED_MAX values behind reads the whole collection again', async () => {
    // Settle both polls' values, then move the counter far on (a burst this copy slept through).
    await reader.notes.refresh();
    await reader.notes.refresh();
    await writer.models.Counter.updateOne({ _id: 'notes' }, { $inc: { seq: CHANGES_FOLLOWED_MAX } });
    await write({ far: '很久以后的笔记' });
    finds.length = 0;
    expect(await reader.notes.refresh()).toBe(1);
    expect(reader.notes.get('far')?.text).toBe('很久以后的笔记');
    expect(finds.some((filter) => Object.keys(filter).length === 0)).toBe(true);
  });
});

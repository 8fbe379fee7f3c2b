import { describe, expect, it } from 'vitest';
import { canonicalKey, sanitizeKey } from '../../../src/parser/canonical.js';

describe('sanitizeKey', () => {
  it.each([
    ['api.requests', 'api.requests'],
    ['my key', 'my_key'],
    ['a \t\n b', 'a_b'],
    ['a/b/c', 'a-b-c'],
    ['a;b=c', 'abc'],
    ['a:b|c@d#e', 'abcde'],
    ['Ab_9-x.y', 'Ab_9-x.y'],
    ['ключ.x', '.x'],
    ['', ''],
  ])('%j → %j', (raw, want) => {
    expect(sanitizeKey(raw)).toBe(want);
  });
});

describe('canonicalKey', () => {
  it('keeps an untagged key as its name', () => {
    const k = canonicalKey('api.requests', '', true);
    expect(k).toEqual({ name: 'api.requests', tags: [], graphiteTags: '', id: 'api.requests' });
  });

  it('sanitizes the name only when asked', () => {
    expect(canonicalKey('my key/x', '', true).name).toBe('my_key-x');
    expect(canonicalKey('my key/x', '', false).name).toBe('my key/x');
    expect(canonicalKey('my key/x', 'a b:c/d', false).tags).toEqual([['a_b', 'c/d']]);
    expect(canonicalKey('my key/x', 'a b:c/d', false).graphiteTags).toBe(';a_b=c-d');
  });

  it.each([
    ['DogStatsD', 'req', 'host:a,env:prod'],
    ['InfluxDB', 'req,host=a,env=prod', ''],
    ['Librato', 'req#host=a,env=prod', ''],
    ['SignalFX', 'req[host=a,env=prod]', ''],
  ])('parses %s tags', (_dialect, raw, dog) => {
    const k = canonicalKey(raw, dog, true);
    expect(k.name).toBe('req');
    expect(k.tags).toEqual([
      ['env', 'prod'],
      ['host', 'a'],
    ]);
    expect(k.graphiteTags).toBe(';env=prod;host=a');
    expect(k.id).toBe('req;env=prod;host=a');
  });

  it('joins the name parts around SignalFX brackets', () => {
    const k = canonicalKey('api.[dc=x]requests', '', true);
    expect(k.name).toBe('api.requests');
    expect(k.id).toBe('api.requests;dc=x');
  });

  it('leaves unbalanced brackets in the name (then sanitised away)', () => {
    expect(canonicalKey('a[b=c', '', false)).toMatchObject({ name: 'a[b=c', tags: [] });
    expect(canonicalKey('a]b[c=d', '', true)).toMatchObject({ name: 'abcd', tags: [] });
  });

  it('gives the same id for two tag orders', () => {
    const a = canonicalKey('m', 'b:2,a:1', true);
    const b = canonicalKey('m', 'a:1,b:2', true);
    expect(a.id).toBe('m;a=1;b=2');
    expect(b.id).toBe(a.id);
    expect(canonicalKey('m,b=2,a=1', '', true).id).toBe(a.id);
    expect(canonicalKey('m,b=2', 'a:1', true).id).toBe(a.id);
  });

  it('sorts by code unit (upper case before lower case)', () => {
    expect(canonicalKey('m', 'b:1,B:2,a:3,_:4', true).tags.map((t) => t[0])).toEqual(['B', '_', 'a', 'b']);
  });

  it('gives a bare DogStatsD tag the value "true"', () => {
    const k = canonicalKey('m', 'canary,env:prod', true);
    expect(k.tags).toEqual([
      ['canary', 'true'],
      ['env', 'prod'],
    ]);
    expect(k.graphiteTags).toBe(';canary=true;env=prod');
  });

  it('keeps the last value of a repeated tag name (DogStatsD after key tags)', () => {
    expect(canonicalKey('m', 'a:1,a:2', true).tags).toEqual([['a', '2']]);
    expect(canonicalKey('m,a=1', 'a:3', true).tags).toEqual([['a', '3']]);
    expect(canonicalKey('m,a=1,a=2', '', true).tags).toEqual([['a', '2']]);
  });

  it('splits a DogStatsD tag at its first colon', () => {
    expect(canonicalKey('m', 'url:http://x', true).tags).toEqual([['url', 'http://x']]);
    expect(canonicalKey('m', 'url:http://x', true).graphiteTags).toBe(';url=http--x');
  });

  it('sanitizes tag names, keeps values as sent; drops a tag whose name becomes empty or whose value is empty', () => {
    const k = canonicalKey('m', 'ho st:a/b,;;:x,e:,,=:y,ok:1,u:日本', true);
    expect(k.tags).toEqual([
      ['ho_st', 'a/b'],
      ['ok', '1'],
      ['u', '日本'],
    ]);
    // Graphite: values sanitised, one that sanitises to '' left out; the identity is Graphite's
    expect(k.graphiteTags).toBe(';ho_st=a-b;ok=1');
    expect(k.id).toBe('m;ho_st=a-b;ok=1');
  });

  it('keeps label values verbatim: /, @, spaces, quotes, backslashes, UTF-8', () => {
    const k = canonicalKey('m', 'route:/api/users,email:a@b.com,q:say "hi" \\ there,city:Zürich', true);
    expect(Object.fromEntries(k.tags)).toEqual({ route: '/api/users', email: 'a@b.com', q: 'say "hi" \\ there', city: 'Zürich' });
    expect(k.graphiteTags).toBe(';city=Zrich;email=ab.com;q=say_hi__there;route=-api-users');
  });

  it('drops key-dialect entries without "="', () => {
    expect(canonicalKey('m,novalue,k=v', '', true).tags).toEqual([['k', 'v']]);
  });

  it('returns a frozen key with frozen tags', () => {
    const k = canonicalKey('m', 'a:1', true);
    expect(Object.isFrozen(k)).toBe(true);
    expect(Object.isFrozen(k.tags)).toBe(true);
    expect(Object.isFrozen(k.tags[0])).toBe(true);
  });
});

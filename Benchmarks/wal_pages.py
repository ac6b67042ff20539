# Writer-alone simulation of labgated's per-second flush at 250 devices x 4 channels (1000 series):
# usage: python3 Benchmarks/wal_pages.py v6|recent HISTORY_SECONDS COMMITS (SYNC=OFF to run faster;
# frame counts do not depend on it). The v6 layout (series-clustered tables written in place) or the
# two-step one (appended recent tables, then one move); counts WAL frames per commit per table
# (each frame's page number mapped to its table with dbstat). BENCHMARKS.md, the daemon at scale.
import sqlite3, os, struct, sys, random, collections
S = 1000; HIST = int(sys.argv[2]) if len(sys.argv) > 2 else 600; N = int(sys.argv[3]) if len(sys.argv) > 3 else 20
mode = sys.argv[1]
path = os.environ.get('TMPDIR', '/tmp') + f'/wal_pages_{mode}.db'
for suf in ('', '-wal', '-shm'):
    try: os.remove(path + suf)
    except FileNotFoundError: pass
db = sqlite3.connect(path, isolation_level=None)
db.execute('PRAGMA journal_mode=WAL'); db.execute('PRAGMA synchronous=' + os.environ.get('SYNC', 'FULL'))
db.executescript('''
CREATE TABLE reading (rowid INTEGER NOT NULL, series INTEGER NOT NULL, time INTEGER NOT NULL, value REAL,
 quality INTEGER NOT NULL, detail TEXT, lot_set INTEGER, seal INTEGER, PRIMARY KEY (series, time, rowid)) WITHOUT ROWID;
CREATE INDEX reading_by_rowid ON reading(rowid);
CREATE TABLE seal_series (seal INTEGER NOT NULL, series INTEGER NOT NULL, count INTEGER NOT NULL, first INTEGER NOT NULL,
 last INTEGER NOT NULL, digest TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (series, seal)) WITHOUT ROWID;
CREATE INDEX seal_series_by_seal ON seal_series(seal, series);
CREATE INDEX seal_series_by_last ON seal_series(series, last);
CREATE TABLE reading_seal (id INTEGER PRIMARY KEY, count INTEGER, digest TEXT, time INTEGER, prev TEXT, hash TEXT, format INTEGER);
CREATE TABLE reading_recent (rowid INTEGER PRIMARY KEY, series INTEGER NOT NULL, time INTEGER NOT NULL, value REAL,
 quality INTEGER NOT NULL, detail TEXT, lot_set INTEGER, seal INTEGER);
CREATE TABLE seal_series_recent (seal INTEGER NOT NULL, series INTEGER NOT NULL, count INTEGER NOT NULL, first INTEGER NOT NULL,
 last INTEGER NOT NULL, digest TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (seal, series)) WITHOUT ROWID;
''')
h = 'ab' * 32
T0 = 1_700_000_000_000
db.execute('BEGIN')
db.execute(f'''WITH RECURSIVE t(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM t WHERE i < {S*HIST-1})
 INSERT INTO reading SELECT i+1, i % {S} + 1, {T0} + (i / {S}) * 1000 + (i % {S}), 37.0 + (i%7)*0.01, 0, NULL, NULL, i/{S}+1 FROM t ORDER BY i % {S}, i''')
db.execute(f'''WITH RECURSIVE t(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM t WHERE i < {S*HIST-1})
 INSERT INTO seal_series SELECT i/{S}+1, i % {S} + 1, 1, {T0} + (i / {S}) * 1000, {T0} + (i / {S}) * 1000, '{h}', '{h}', '{h}' FROM t ORDER BY i % {S}, i''')
db.execute(f'''WITH RECURSIVE t(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM t WHERE i < {HIST})
 INSERT INTO reading_seal SELECT i, {S}, '{h}', 0, '{h}', '{h}', 2 FROM t''')
db.execute('COMMIT')
db.execute('PRAGMA wal_checkpoint(TRUNCATE)')
db.execute('PRAGMA wal_autocheckpoint=0')
pages = {}
for name, pageno in db.execute('SELECT name, pageno FROM dbstat'):
    pages[pageno] = name
rowid = S * HIST; seal = HIST
def flush(sec, rtab, stab):
    global rowid, seal
    seal += 1
    db.execute('BEGIN')
    for s in range(1, S + 1):
        rowid += 1
        db.execute(f'INSERT INTO {rtab} (rowid, series, time, value, quality, detail, lot_set, seal) VALUES (?,?,?,?,?,?,?,?)',
                   (rowid, s, T0 + sec * 1000 + s, 37.01, 0, None, None, seal))
    for s in range(1, S + 1):
        db.execute(f'INSERT INTO {stab} VALUES (?,?,?,?,?,?,?,?)', (seal, s, 1, T0 + sec*1000, T0 + sec*1000, h, h, h))
    db.execute('INSERT INTO reading_seal VALUES (?,?,?,?,?,?,?)', (seal, S, h, 0, h, h, 2))
    db.execute('COMMIT')
recent = mode == 'recent'
for k in range(N):
    flush(HIST + k, 'reading_recent' if recent else 'reading', 'seal_series_recent' if recent else 'seal_series')
def wal_frames():
    data = open(path + '-wal', 'rb').read()
    psz = struct.unpack('>I', data[8:12])[0]
    off = 32; commits = []; cur = []
    while off + 24 <= len(data):
        pg, dbsize = struct.unpack('>II', data[off:off+8])
        cur.append(pg)
        if dbsize: commits.append(cur); cur = []
        off += 24 + psz
    return commits, psz
commits, psz = wal_frames()
for pageno_name in db.execute('SELECT name, pageno FROM dbstat'):
    pages.setdefault(pageno_name[1], pageno_name[0])
per = collections.Counter()
for c in commits:
    for p in c: per[pages.get(p, 'new/free')] += 1
n = len(commits)
print(f'{mode}: history {HIST} s x {S} series; {n} commits; page {psz}; frames/commit {sum(len(c) for c in commits)/n:.0f}; WAL bytes/commit {sum(len(c) for c in commits)/n*(psz+24)/1e6:.2f} MB')
for name, cnt in per.most_common(): print(f'  {name:24s} {cnt/n:8.1f} pages/commit')
if recent:
    # the move: every recent row into the clustered tables, sorted by series, one transaction
    db.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    db.execute('PRAGMA secure_delete = FAST')
    db.execute('BEGIN')
    db.execute('INSERT INTO reading SELECT rowid, series, time, value, quality, detail, lot_set, seal FROM reading_recent ORDER BY series, time, rowid')
    db.execute('INSERT INTO seal_series SELECT * FROM seal_series_recent ORDER BY series, seal')
    db.execute('DELETE FROM reading_recent'); db.execute('DELETE FROM seal_series_recent')
    db.execute('COMMIT')
    commits, psz = wal_frames()
    fr = sum(len(c) for c in commits)
    pages2 = {pn: nm for nm, pn in db.execute('SELECT name, pageno FROM dbstat')}
    per2 = collections.Counter(pages2.get(p, 'freelist') for c in commits for p in c)
    for name, cnt in per2.most_common(): print(f'    move: {name:24s} {cnt:8d} pages ({cnt/N:.1f} per second moved)')
    print(f'  move of {N} s: {fr} frames = {fr*(psz+24)/1e6:.2f} MB; per second moved {fr/N:.1f} pages')

package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// moto 5.2.1 makes TransactWriteItems cost more with every item a table
// has ever had: before a transaction it deep-copies each table the
// transaction touches, every item and the table's whole stream, so that it
// can put the copy back if the transaction fails. The snapshot function
// writes each run step in one transaction (the run and its ApiCalls rows),
// so over a demo's two days a transaction grows from 3 ms to over a
// second. The demo therefore starts moto through a launcher that replaces
// the copy with an undo of what the transaction touched: before it, the
// touched items are copied (one item each) and the streams' lengths
// noted; if it fails, those items are put back and the streams cut back.
// A failed transaction leaves the items and stream records as moto's own
// rollback does, and where moto does not roll back (an entry with two
// operations, which moto refuses only when it reaches it) neither does
// the undo; a successful one is the same code as moto's. One thing is
// better than moto: moto's rollback puts a copy of the table in its
// place, so a stream iterator taken before a failed transaction goes on
// reading the old table's stream (the failed transaction's records, and
// none written after); with the undo the table stays and so does every
// iterator on its stream, which the demo's stream readers hold for ever.
//
// moto also answers a Query by comparing and sorting every item of the
// table (30 ms for an index of a 1,500-item table); the launcher hands
// its Query only the items of the queried partition (the same items: of
// the table's key from moto's own dict of them, of an index's picked out
// by value first). Its server finds each request's backend by listing its
// own package directory (a listdir and 200 stats a request), which the
// launcher lists once. And it writes each DynamoDB attribute of a response
// by walking botocore's shape of it, member by member (20 ms for a Query
// of fifty items), where the launcher copies the attribute's JSON, which
// moto already holds; binary attributes, and maps with an entry named ""
// (which moto's walk writes wrong), keep moto's path.
//
// Nothing else of moto changes, and but for the held iterators moto
// answers every request as it would unpatched: TestMotoLauncher runs the same DynamoDB and DynamoDB
// Streams calls against moto_server and the launcher and compares the
// responses byte for byte. Once every patch is in place the launcher
// writes launcherPatchedBanner to its standard error; if it cannot import
// moto, it says so there and runs moto_server unchanged.
const motoLauncherPy = `
import copy, os, sys
try:
    import moto
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table
    from moto.server import main
    # moto raises this in the middle of a transaction without rolling back
    # what the operations before it did; so does the undo.
    from moto.dynamodb.exceptions import TransactWriteSingleOpException as _NoRollback
except Exception as e:
    sys.stderr.write("snaplocal moto launcher: cannot import moto (%s); running moto_server unpatched\n" % e)
    os.execvp("moto_server", ["moto_server"] + sys.argv[1:])

class _CopyButTables:
    """The copy module, but a Table "deep copy" is the table itself:
    transact_write_items' rollback is then a no-op, and the undo below
    restores what the transaction touched."""
    def __getattr__(self, name):
        return getattr(copy, name)
    @staticmethod
    def deepcopy(x, memo=None):
        return x if isinstance(x, Table) else copy.deepcopy(x, memo)

models.copy = _CopyButTables()
_transact = models.DynamoDBBackend.transact_write_items

def _undo(saved, shards):
    for table, h, r, item in reversed(saved):
        if r is None:
            if item is None:
                table.items.pop(h, None)
            else:
                table.items[h] = item
        elif item is None:
            table.items.get(h, {}).pop(r, None)
        else:
            table.items[h][r] = item
    for shard, n in shards.values():
        del shard.items[n:]

def transact_write_items(self, transact_items):
    saved, shards = [], {}
    for entry in transact_items:
        if len(entry) != 1:
            continue
        op_type, op = next(iter(entry.items()))
        table = self.tables.get(op.get("TableName") or "")
        if table is None:
            continue
        keys = op.get("Key") or {}
        if op_type == "Put":
            attrs = op.get("Item") or {}
            keys = {k: attrs[k] for k in (table.hash_key_attr, table.range_key_attr) if k and k in attrs}
        try:
            h, r = self.get_keys_value(table, keys)
            current = table.get_item(h, r)
        except Exception:
            continue
        saved.append((table, h, r, copy.deepcopy(current)))
        if table.stream_shard is not None:
            shards.setdefault(id(table.stream_shard), (table.stream_shard, len(table.stream_shard.items)))
    try:
        return _transact(self, transact_items)
    except _NoRollback:
        raise
    except Exception:
        _undo(saved, shards)
        raise

models.DynamoDBBackend.transact_write_items = transact_write_items

# A Query looks only at the items of its partition: of the table's key,
# found in moto's own dict of the items; of an index's, picked out with a
# plain comparison of the values. moto's own Query sorts every item of the
# table (all_items), with its slow comparisons, then filters them.
import threading
_partition = threading.local()
_all_items = Table.all_items
_query = Table.query

def _same(v, c):
    if v is None or v.type != c.type:
        return False
    return v.value == c.value if c.type == "S" else v == c

def all_items(self):
    if getattr(_partition, "table", None) is not self:
        return _all_items(self)
    h, conds = _partition.key, _partition.conds
    if conds is not None:
        # moto's all_items sorts every item; its index Query sorts what it
        # keeps again, so these need no order.
        rows = self.items.values() if not self.range_key_attr else (i for hs in self.items.values() for i in hs.values())
        return [i for i in rows if all(_same(i.attrs.get(n), c) for n, c in conds)]
    found = self.items.get(h)
    if found is None:
        return []
    return list(found.values()) if self.range_key_attr else [found]

def query(self, hash_key, *args, **kwargs):
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    conds = kwargs.get("hash_key_conditions")
    if index_name is not None:
        if not conds:
            return _query(self, hash_key, *args, **kwargs)
        _partition.key, _partition.conds = None, list(conds)
    elif hash_key is not None:
        _partition.key, _partition.conds = hash_key, None
    else:
        return _query(self, hash_key, *args, **kwargs)
    _partition.table = self
    try:
        return _query(self, hash_key, *args, **kwargs)
    finally:
        _partition.table = None

Table.all_items = all_items
Table.query = query

# moto's server finds the backend of every request by listing its own
# package directory (a listdir and a stat per module, under a lock); the
# list does not change while it runs.
import moto.backends as _backends
_modules = frozenset(_backends.list_of_moto_modules())
_backends.list_of_moto_modules = lambda: _modules

# moto writes every DynamoDB AttributeValue of a response by walking its
# botocore shape member by member (ten members an attribute, nested maps
# and lists again): a Query of fifty items takes 20 ms. An AttributeValue
# moto returns is already its JSON, so it is copied as it is (the same
# bytes; binary values still take moto's own path).
from moto.core.serialize import BaseJSONSerializer

class _Slow(Exception):
    pass

def _plain(v):
    if not isinstance(v, dict) or "B" in v or "BS" in v:
        raise _Slow
    out = {}
    for k, x in v.items():
        if k == "M":
            if "" in x:
                # moto writes an entry named "" as its value's members,
                # straight into the map; leave that to moto.
                raise _Slow
            out[k] = {mk: _plain(mv) for mk, mv in x.items()}
        elif k == "L":
            out[k] = [_plain(i) for i in x]
        else:
            out[k] = x
    return out

_structure = BaseJSONSerializer._serialize_type_structure

def _serialize_type_structure(self, serialized, value, shape, key):
    if key and shape.name == "AttributeValue" and isinstance(value, dict):
        try:
            serialized[self.get_serialized_name(shape, key)] = _plain(value)
            return
        except _Slow:
            pass
    return _structure(self, serialized, value, shape, key)

BaseJSONSerializer._serialize_type_structure = _serialize_type_structure
sys.stderr.write("` + launcherPatchedBanner + ` %s\n" % moto.__version__)
sys.argv[0] = "moto_server"
main(sys.argv[1:])
`

// launcherPatchedBanner starts the line the launcher writes to its
// standard error once every patch is in place, before moto serves.
const launcherPatchedBanner = "snaplocal moto launcher: patched moto"

// motoLauncher is the shell script that runs moto's server with the
// patch, with the Python moto_server runs with.
const motoLauncher = `#!/bin/sh
# snaplocal's moto launcher: moto_server with TransactWriteItems' table
# copy replaced by an undo (see cmd/snaplocal/motopatch.go).
moto=$(command -v moto_server) || { echo "moto_server not found on PATH" >&2; exit 127; }
py=$(head -n 1 "$moto" | sed -n 's|^#! *\(/[^ ]*python[0-9.]*\).*|\1|p')
[ -n "$py" ] && [ -x "$py" ] || py=python3
exec "$py" "$(dirname "$0")/moto_server_snaplocal.py" "$@"
`

// writeMotoLauncher writes the launcher and its Python into dir and
// returns the launcher's path.
func writeMotoLauncher(dir string) (string, error) {
	path := filepath.Join(dir, "moto_server_snaplocal")
	if err := os.WriteFile(path+".py", []byte(motoLauncherPy), 0o644); err != nil {
		return "", fmt.Errorf("moto launcher: %w", err)
	}
	if err := os.WriteFile(path, []byte(motoLauncher), 0o755); err != nil {
		return "", fmt.Errorf("moto launcher: %w", err)
	}
	return path, nil
}

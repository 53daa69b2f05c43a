"""Starts moto's server (the local AWS emulator) with two fixes to its DynamoDB transactions.

moto 5.2.5 (the pinned version) implements TransactWriteItems by deep-copying every table it
touches and restoring the copies if the transaction is cancelled. Under the threaded server that is
neither atomic nor isolated: a rollback restores a stale copy over writes other requests committed
meanwhile, and copying a table while another request changes it fails with a 500. It also makes every
transaction cost O(table size).

This wrapper (emulator only; nothing of it reaches AWS):
  * serialises DynamoDB requests with one lock, so transactions are isolated as in DynamoDB;
  * checks every condition of a transaction before writing anything, so a cancelled transaction
    writes nothing and leaves no record on the table's stream (moto wrote item by item and undid
    the writes, and both the writes and their undoing reached the stream: subscribers saw a
    profile's version published twice); instead of copies of whole tables, an undo log covers a
    write moto itself refuses;
  * answers a Query on a table's own key from that partition's items: moto sorts every item of the
    table for each such Query, which makes a Query cost O(table size) and the local stack's
    throughput fall as tables grow (seen as superlinear case creation in `cmpctl bench
    compensate`). The results are the same; only the candidate list is narrowed before moto's own
    sorting, paging and filtering;
  * continues a Scan of a table from its ExclusiveStartKey by bisecting a cached, sorted key list:
    moto sorted every item of the table for every page and then walked to the start key, so a full
    scan cost O(pages x table size) (minutes for the partner-export benchmark's table). The cache
    is rebuilt after any write to the table, and items are read fresh from the table, so pages are
    what moto would answer.

Usage: python scripts/moto_server.py -H 127.0.0.1 -p PORT   (the same arguments as moto_server)
"""
import bisect
import copy
import itertools
import sys
import threading

from moto.dynamodb import responses as ddb_responses
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
_LOCK = threading.RLock()

_original_call_action = ddb_responses.DynamoHandler.call_action


def _locked_call_action(self):
    with _LOCK:
        return _original_call_action(self)


def _transact_write_items(self, transact_items):
    """Checks every condition first and writes only when all hold, as DynamoDB does: a cancelled
    transaction writes nothing, so it leaves no record on the table's stream. (Writing item by item
    and undoing on failure, as moto does, put the undone writes and their undoing on the stream.)
    Requests are serialised by the lock, so the state checked is the state written."""
    import moto.dynamodb.models as models

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    target_items = set()
    planned = []  # (op_type, op, table_name, key)
    errors = []
    # pass 1: validate and check every condition against the current items; write nothing
    for item in transact_items:
        original_item = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            unique = (str(table_name), str(dict(sorted(key.items()))))
            if unique in target_items:
                raise MultipleTransactionsException()
            target_items.add(unique)
            current = self.get_item(table_name, key)
            condition_expression = op.get("ConditionExpression")
            if condition_expression is not None:
                condition_op = models.get_filter_expression(
                    condition_expression, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues"))
                if not condition_op.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            planned.append((op_type, op, table_name, key))
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # noqa: BLE001 (mirrors moto: other failures cancel the transaction)
            errors.append((type(e).__name__, str(e), original_item))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    # pass 2: every condition holds; write, with an undo log for a write moto itself refuses
    undo = []  # (table_name, key, previous item as DynamoDB JSON or None)
    for index, (op_type, op, table_name, key) in enumerate(planned):
        if op_type == "ConditionCheck":
            continue
        names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        # the condition again (it holds: nothing changed since pass 1 but other keys), so that moto
        # sees every expression value used
        condition_expression = op.get("ConditionExpression")
        current = self.get_item(table_name, key)
        try:
            if op_type == "Put":
                self.put_item(table_name, op["Item"], condition_expression=condition_expression,
                              expression_attribute_names=names, expression_attribute_values=values)
            elif op_type == "Delete":
                self.delete_item(table_name, key, condition_expression=condition_expression,
                                 expression_attribute_names=names, expression_attribute_values=values)
            else:
                self.update_item(table_name, key, update_expression=op["UpdateExpression"],
                                 condition_expression=condition_expression,
                                 expression_attribute_names=names, expression_attribute_values=values)
            undo.append((table_name, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
        except Exception as e:  # noqa: BLE001
            for t, k, previous in reversed(undo):
                if previous is None:
                    self.delete_item(t, k)
                else:
                    self.put_item(t, previous)
            if isinstance(e, MockValidationException):
                raise
            failed = [(None, None, None)] * len(transact_items)
            failed[index] = (type(e).__name__, str(e), None)
            raise TransactionCanceledException(failed)


from moto.dynamodb.models.table import Table  # noqa: E402

_original_query = Table.query


def _partition_query(self, hash_key, *args, **kwargs):
    """Table.query with the base table's candidates taken from one partition (see the docstring)."""
    # index_name is the 8th parameter (7th after hash_key); moto passes it positionally
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if index_name is not None or hash_key is None:
        return _original_query(self, hash_key, *args, **kwargs)
    partition = self.items.get(hash_key)
    if partition is None:
        candidates = []
    elif self.range_key_attr:
        candidates = list(partition.values())
    else:
        candidates = [partition]
    # moto's query reads its candidates from all_items(); give it this partition's, for this call
    # only (DynamoDB requests are serialised by _LOCK, so no other request sees the override)
    self.all_items = lambda: candidates
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


_original_scan = Table.scan
_original_put = Table.put_item
_original_delete = Table.delete_item
_original_all_items = Table.all_items


def _bump(table):
    table._cmp_version = getattr(table, "_cmp_version", 0) + 1


def _put_item(self, *args, **kwargs):
    try:
        return _original_put(self, *args, **kwargs)
    finally:
        _bump(self)


def _delete_item(self, *args, **kwargs):
    try:
        return _original_delete(self, *args, **kwargs)
    finally:
        _bump(self)


def _sorted_keys(table):
    version = getattr(table, "_cmp_version", 0)
    cache = getattr(table, "_cmp_sorted", None)
    if cache is None or cache[0] != version:
        keys = [(i.hash_key, i.range_key) for i in _original_all_items(table)]
        cache = (version, keys)
        table._cmp_sorted = cache
    return cache[1]


def _resumed_scan(self, filters, limit, exclusive_start_key, filter_expression=None, index_name=None, *args, **kwargs):
    """Table.scan continuing from ExclusiveStartKey by bisection (see the docstring)."""
    if index_name is not None or not exclusive_start_key:
        return _original_scan(self, filters, limit, exclusive_start_key, filter_expression, index_name, *args, **kwargs)
    keys = _sorted_keys(self)
    hash_start = DynamoType(exclusive_start_key[self.hash_key_attr])
    range_start = DynamoType(exclusive_start_key[self.range_key_attr]) if self.range_key_attr else None
    position = bisect.bisect_right(keys, (hash_start, range_start))

    def remaining():
        for h, r in itertools.islice(keys, position, None):
            partition = self.items.get(h)
            item = partition.get(r) if (partition is not None and self.range_key_attr) else partition
            if item is not None:
                yield item

    # moto's scan walks all_items(); give it the items after the start key, for this call only
    # (DynamoDB requests are serialised by _LOCK)
    self.all_items = remaining
    try:
        return _original_scan(self, filters, limit, exclusive_start_key, filter_expression, index_name, *args, **kwargs)
    finally:
        del self.all_items


ddb_responses.DynamoHandler.call_action = _locked_call_action
Table.query = _partition_query
Table.scan = _resumed_scan
Table.put_item = _put_item
Table.delete_item = _delete_item
DynamoDBBackend.transact_write_items = _transact_write_items

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])

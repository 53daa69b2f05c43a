"""Starts moto's server (the local AWS emulator) with two fixes to its DynamoDB transactions.

moto 5.2.5 (the pinned version) implements TransactWriteItems by deep-copying every table it
touches and restoring the copies if the transaction is cancelled. Under the threaded server that is
neither atomic nor isolated: a rollback restores a stale copy over writes other requests committed
meanwhile, and copying a table while another request changes it fails with a 500. It also makes every
transaction cost O(table size).

This wrapper (emulator only; nothing of it reaches AWS):
  * serialises DynamoDB requests with one lock, so transactions are isolated as in DynamoDB;
  * rolls a cancelled transaction back from an undo log of the items it touched instead of copies of
    whole tables;
  * answers a Query on a table's own key from that partition's items: moto sorts every item of the
    table for each such Query, which makes a Query cost O(table size) and the local stack's
    throughput fall as tables grow (seen as superlinear case creation in `cmpctl bench
    compensate`). The results are the same; only the candidate list is narrowed before moto's own
    sorting, paging and filtering.

Usage: python scripts/moto_server.py -H 127.0.0.1 -p PORT   (the same arguments as moto_server)
"""
import copy
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
_LOCK = threading.RLock()

_original_call_action = ddb_responses.DynamoHandler.call_action


def _locked_call_action(self):
    with _LOCK:
        return _original_call_action(self)


def _transact_write_items(self, transact_items):
    import moto.dynamodb.models as models

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = []  # (table_name, key, previous item as DynamoDB JSON or None)
    target_items = set()

    def check_unicity(table_name, key):
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    def rollback():
        for table_name, key, previous in reversed(undo):
            if previous is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, previous)

    errors = []
    for item in transact_items:
        original_item = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            rv_on_failure = op.get("ReturnValuesOnConditionCheckFailure")
            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            check_unicity(table_name, key)
            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = models.get_filter_expression(condition_expression, names, values)
                if not condition_op.expr(current):
                    if rv_on_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            if op_type != "ConditionCheck":
                previous = copy.deepcopy(current.to_json()["Attributes"]) if current else None
                undo.append((table_name, key, previous))
            if op_type == "Put":
                self.put_item(table_name, op["Item"], condition_expression=condition_expression,
                              expression_attribute_names=names, expression_attribute_values=values)
            elif op_type == "Delete":
                self.delete_item(table_name, key, condition_expression=condition_expression,
                                 expression_attribute_names=names, expression_attribute_values=values)
            elif op_type == "Update":
                self.update_item(table_name, key, update_expression=op["UpdateExpression"],
                                 condition_expression=condition_expression,
                                 expression_attribute_names=names, expression_attribute_values=values)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            rollback()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # noqa: BLE001 (mirrors moto: other failures cancel the transaction)
            errors.append((type(e).__name__, str(e), original_item))
    if any(code is not None for code, _, _ in errors):
        rollback()
        raise TransactionCanceledException(errors)


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


ddb_responses.DynamoHandler.call_action = _locked_call_action
Table.query = _partition_query
DynamoDBBackend.transact_write_items = _transact_write_items

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])

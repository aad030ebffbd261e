"""Transfer products (R-1.2, R-5.2): Severa products, work types and travel-expense
types ⇄ eEkonomi articles, matched by code = article number (R-2.3).

A code used by two Severa records (a product and a work type, say) cannot become one
article: both are listed with the other named, and neither transfers until one is
renamed. Articles new in eEkonomi always land in Severa's *product* register (R-1.2);
updates flow only from ``products_master`` (R-3.2) — to whichever Severa register the
record lives in.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from schemas.base import CheckedBody, MappingError
from schemas.products import (
    SEVERA_REGISTER_NAMES,
    SeveraRegister,
    article_for_update,
    article_number_key,
    eekonomi_article_body,
    eekonomi_article_to_record,
    product_label,
    record_to_severa_product,
    record_to_severa_update,
    severa_item_to_record,
)
from schemas.records import ProductRecord, content_hash
from schemas.sides import Side
from worker.sync.bindings import Binding
from worker.sync.conflicts import guard_overwrite
from worker.sync.engine import (
    Outcome,
    Staged,
    Stager,
    SyncContext,
    differs,
    digest_of,
    flowing_side,
    link_of,
)
from worker.sync.errorlist import RecordRef
from worker.sync.history import note_change
from worker.sync.register import RegisterSpec
from worker.sync.upsert import EEkonomiResource, upsert_eekonomi

NAME = PRODUCTS = "products"

PRODUCT: SeveraRegister = "product"
WORK_TYPE: SeveraRegister = "work_type"
TRAVEL: SeveraRegister = "travel_expense_type"


def severa_key(item: dict[str, Any]) -> str:
    code = str(item.get("code") or "").strip()
    return article_number_key(code) if code else f"guid:{item['guid']}"


class Products:
    """The products register (see the module docstring)."""

    spec = RegisterSpec(
        name=NAME,
        title="Transfer products",
        task="sync.transfer_products",
        record_task="sync.transfer_product",
        tasks_module="tasks.products",
        requires=("products_master",),
        interval_setting="register_interval_minutes",
        natural_key="article number (= Severa code)",
        help="products, work types and travel-expense types ⇄ articles (R-1.2)",
        key_of_number=article_number_key,
        sandbox_paths=(
            "/rest-api/v1/products",
            "/rest-api/v1/worktypes",
            "/rest-api/v1/travelexpensetypes",
            "/v2/articles",
        ),
    )
    name = NAME

    def read(
        self, ctx: SyncContext, side: str, since: datetime | None, stage: Stager
    ) -> datetime | None:
        if side == Side.EEKONOMI:
            listing = ctx.clients.eekonomi.list_articles(changed_since=since)
            for article in listing:
                number = str(article.get("Number") or "")
                digest = functools.partial(
                    digest_of, functools.partial(self._eekonomi_record, ctx), article
                )
                stage.add(article_number_key(number), str(article["Id"]), article, digest)
            return listing.server_time
        severa = ctx.clients.severa
        products = severa.list_products(changed_since=since)
        sources = (
            (PRODUCT, products),
            (WORK_TYPE, severa.list_work_types(changed_since=since)),
            # No changedSince on travel-expense types: the short list is read each run;
            # unchanged ones settle without a request (their hash is unchanged).
            (TRAVEL, severa.list_travel_expense_types()),
        )
        seen: dict[str, dict[str, Any]] = {}
        for kind, listing in sources:
            for item in listing:
                natural_key = severa_key(item)
                entry = {"kind": kind, "item": item}
                other = seen.get(natural_key) or _indexed_other(ctx, natural_key, item)
                if other is not None:
                    entry["collides_with"] = other
                    other_entry = {"kind": other["kind"], "item": other["item"],
                                   "collides_with": entry}  # fmt: skip
                    seen[natural_key] = other_entry
                else:
                    seen[natural_key] = entry
                staged_entry = seen[natural_key]
                digest = functools.partial(digest_of, _severa_record, staged_entry)
                stage.add(natural_key, str(item["guid"]), staged_entry, digest)
                ctx.redis.hset(_kinds_key(ctx), str(item["guid"]), kind)
        return products.server_time

    def streamed_side(self, ctx: SyncContext) -> str | None:
        """None: a Severa code is checked against every Severa register's records (a
        collision found late re-stages the first record), so Severa is read whole."""
        return None

    def fetch(self, ctx: SyncContext, natural_key: str) -> Staged:
        severa = ctx.clients.severa
        found: list[dict[str, Any]] = []
        if natural_key.startswith("guid:"):
            guid = natural_key.removeprefix("guid:")
            for kind, get in (
                (PRODUCT, severa.get_product),
                (WORK_TYPE, severa.get_work_type),
                (TRAVEL, severa.get_travel_expense_type),
            ):
                item = get(guid)
                if item is not None:
                    found.append({"kind": kind, "item": item})
                    break
        else:
            for kind, listing in (
                (PRODUCT, severa.list_products(code=natural_key)),
                (WORK_TYPE, severa.list_work_types(code=natural_key)),
                (TRAVEL, severa.list_travel_expense_types(code=natural_key)),
            ):
                found += [
                    {"kind": kind, "item": item}
                    for item in listing
                    if severa_key(item) == natural_key
                ]
        staged = Staged()
        if found:
            staged.severa = found[0]
            if len(found) > 1:
                staged.severa["collides_with"] = found[1]
        if not natural_key.startswith("guid:"):
            staged.eekonomi = ctx.clients.eekonomi.find_article_by_number(natural_key)
        return staged

    def describe(self, natural_key: str, staged: Staged) -> RecordRef:
        item = (staged.severa or {}).get("item") or {}
        article = staged.eekonomi or {}
        return RecordRef(
            number=str(item.get("code") or article.get("Number") or natural_key),
            name=str(item.get("name") or article.get("Name") or ""),
            severa_id=str(item.get("guid") or ""),
            eekonomi_id=str(article.get("Id") or ""),
        )

    def settle(self, ctx: SyncContext, natural_key: str, staged: Staged) -> Outcome:
        link = link_of(ctx, NAME, natural_key)
        binding, severa_id, eekonomi_id = link.binding, link.severa_id, link.eekonomi_id
        side = flowing_side(staged, link, ctx.values["products_master"])
        if side == Side.SEVERA and staged.severa is not None:
            record = _severa_record(staged.severa)
            record_hash = content_hash(record)
            if record_hash == binding.severa_hash and eekonomi_id:
                return Outcome("unchanged", Side.SEVERA)
            return self._to_eekonomi(ctx, natural_key, record, staged, eekonomi_id, record_hash)
        if side == Side.EEKONOMI and staged.eekonomi is not None:
            record = self._eekonomi_record(ctx, staged.eekonomi)
            if content_hash(record) == binding.eekonomi_hash and severa_id:
                return Outcome("unchanged", Side.EEKONOMI)
            return self._to_severa(ctx, natural_key, record, binding, severa_id,
                                   str(staged.eekonomi["Id"]))  # fmt: skip
        return Outcome("unchanged")

    def _eekonomi_record(
        self, ctx: SyncContext, article: dict[str, Any], sent: CheckedBody | None = None
    ) -> ProductRecord:
        """``sent``: the body ``article`` answers, reused where the answer echoes it."""
        reference = ctx.clients.reference
        return eekonomi_article_to_record(
            article,
            codings=reference.article_account_codings(),
            units=reference.units(),
            sent=sent,
        )

    def _to_eekonomi(
        self,
        ctx: SyncContext,
        natural_key: str,
        record: ProductRecord,
        staged: Staged,
        eekonomi_id: str,
        record_hash: str,
    ) -> Outcome:
        """Write ``record`` (hashed ``record_hash``) to eEkonomi and bind it. The body's
        check is kept, so that eEkonomi's answer maps without a second full load."""
        eekonomi = ctx.clients.eekonomi
        reference = ctx.clients.reference
        label = product_label(record["kind"], record["number"], record["name"])
        codings = reference.article_account_codings()
        body = eekonomi_article_body(record, codings=codings, units=reference.units())
        payload = body.payload
        number = record["number"]
        resource = EEkonomiResource(
            find=lambda: eekonomi.find_article_by_number(number),
            create=eekonomi.create_article,
            get=eekonomi.get_article,
            update=eekonomi.update_article,
        )
        binder = ctx.binder(NAME)
        written, counter = upsert_eekonomi(
            binder, natural_key, label, payload, resource,
            eekonomi_id=eekonomi_id, current=staged.eekonomi,
            for_update=lambda wanted, current: article_for_update(wanted, current, codings),
            before_update=lambda now: guard_overwrite(
                ctx, NAME, natural_key, current=self._eekonomi_record(ctx, now), written=record,
                last_hash=(binder.get(natural_key) or Binding()).eekonomi_hash, label=label,
            ),
        )  # fmt: skip
        severa = staged.severa or {}
        binder.bind_last(
            natural_key,
            Binding(
                severa_id=str(severa["item"]["guid"]),
                eekonomi_id=str(written["Id"]),
                severa_hash=record_hash,
                eekonomi_hash=content_hash(self._eekonomi_record(ctx, written, sent=body)),
                severa_kind=str(severa["kind"]),
            ),
        )
        return Outcome(counter, Side.SEVERA)

    def _to_severa(
        self,
        ctx: SyncContext,
        natural_key: str,
        record: ProductRecord,
        binding: Binding,
        severa_id: str,
        eekonomi_id: str,
    ) -> Outcome:
        severa = ctx.clients.severa
        binder = ctx.binder(NAME)
        currency = ctx.clients.reference.company_settings().get("CurrencyCode")
        if not severa_id and binder.pending_for(natural_key, Side.SEVERA):
            for found in severa.list_products(code=record["number"]):
                if severa_key(found) == natural_key:
                    severa_id = str(found["guid"])
        kind = _register_of(binding.severa_kind or ctx.redis.hget(_kinds_key(ctx), severa_id))
        # a new article lands in Severa's products; an update goes to the register
        # the record lives in, and changes only what the schema lets it.
        if not severa_id:
            body = record_to_severa_product(record, company_currency=currency)
            binder.mark_pending(natural_key, Side.SEVERA)
            written = severa.create_product(body)
            note_change(Side.SEVERA, "create", body)
            counter, kind = "created", PRODUCT
        else:
            wanted = record_to_severa_update(record, kind, company_currency=currency)
            guard = (natural_key, binding, record)
            written, counter = _update_severa_item(ctx, kind, severa_id, wanted, guard)
        binder.bind(
            natural_key,
            Binding(
                severa_id=str(written["guid"]),
                eekonomi_id=eekonomi_id,
                severa_hash=content_hash(severa_item_to_record(kind, written)),
                eekonomi_hash=content_hash(record),
                severa_kind=kind,
            ),
        )
        return Outcome(counter, Side.EEKONOMI)


def _severa_record(entry: dict[str, Any]) -> ProductRecord:
    """The record of a staged Severa entry (see ``Products.read``), which fails when
    another Severa record has its code (R-2.3)."""
    other = entry.get("collides_with")
    return severa_item_to_record(
        _register_of(entry["kind"]),
        entry["item"],
        code_also_used_by=(
            (_register_of(other["kind"]), other["item"].get("name")) if other else None
        ),
    )


def _register_of(kind: Any) -> SeveraRegister:
    """A stored register name as :data:`~schemas.products.SeveraRegister` (products when
    unknown: R-1.2 lands articles there)."""
    for register in (PRODUCT, WORK_TYPE, TRAVEL):
        if kind == register:
            return register
    return PRODUCT


def _indexed_other(
    ctx: SyncContext, natural_key: str, item: dict[str, Any]
) -> dict[str, Any] | None:
    """A Severa record of an earlier run that already owns this code, if any."""
    guid = ctx.index(NAME, Side.SEVERA).get(natural_key)
    if not guid or guid == str(item["guid"]):
        return None
    kind = str(ctx.redis.hget(_kinds_key(ctx), guid) or PRODUCT)
    return {"kind": kind, "item": {"guid": guid, "name": "(another record)"}}


def _update_severa_item(
    ctx: SyncContext,
    kind: SeveraRegister,
    guid: str,
    wanted: dict[str, Any],
    guard: tuple[str, Binding, ProductRecord],
) -> tuple[dict[str, Any], str]:
    """Patch what differs of ``wanted`` (the fields the schema lets an update change,
    :func:`~schemas.products.record_to_severa_update`) on the Severa record — after the
    conflict guard (a Severa edit since the last sync is logged or held)."""
    severa = ctx.clients.severa
    current = {
        PRODUCT: severa.get_product,
        WORK_TYPE: severa.get_work_type,
        TRAVEL: severa.get_travel_expense_type,
    }[kind](guid)
    if current is None:
        raise MappingError(
            f"{SEVERA_REGISTER_NAMES[kind]} {guid}",
            "the linked Severa record was deleted; restore it",
        )
    changes = {f"/{name}": wanted[name] for name in differs(current, wanted)}
    if not changes:
        return current, "unchanged"
    natural_key, binding, record = guard
    guard_overwrite(
        ctx, NAME, natural_key, last_hash=binding.severa_hash,
        current=severa_item_to_record(kind, current), written=record,
        label=product_label(record["kind"], record["number"], record["name"]),
    )  # fmt: skip
    patch = {
        PRODUCT: severa.update_product,
        WORK_TYPE: severa.update_work_type,
        TRAVEL: severa.update_travel_expense_type,
    }[kind]
    written = patch(guid, changes)
    note_change(Side.SEVERA, "update", {p: [current.get(p[1:]), v] for p, v in changes.items()})
    return written, "updated"


def _kinds_key(ctx: SyncContext) -> str:
    from worker.keys import key

    return key(ctx.connection_id, "index", NAME, "severa-kinds")

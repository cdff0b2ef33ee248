"""HTML for the SSR pages: pure functions of the data, every value escaped once, here."""

from __future__ import annotations

from html import escape

from . import assets


def _e(value) -> str:
    return escape("" if value is None else str(value), quote=True)


def page(title: str, content: str, version: str) -> str:
    return assets.template("layout.html").substitute(title=_e(title), content=content, version=_e(version))


def badge(seller: dict) -> str:
    if not seller.get("totalRatings"):
        return '<div class="rating-badge new-seller" data-total="0">New Seller</div>'
    avg, total = seller["averageRating"], seller["totalRatings"]
    noun = "rating" if total == 1 else "ratings"
    return (f'<div class="rating-badge" data-average="{avg:.2f}" data-total="{total}">'
            f'<span class="stars" aria-hidden="true">&#9733;</span> '
            f'<span class="average">{avg:.2f}</span> '
            f'<span class="count">({total} {noun})</span></div>')


def rating_item(rating: dict) -> str:
    comment = f'<p class="comment">{_e(rating["comment"])}</p>' if rating.get("comment") else ""
    return (f'      <li class="rating" data-rating-id="{rating["id"]}" data-rater-id="{rating["raterId"]}">'
            f'<span class="value">{"&#9733;" * rating["rating"]}{"&#9734;" * (5 - rating["rating"])}</span> '
            f'<span class="rater">{_e(rating["raterName"])}</span> '
            f'<time datetime="{_e(rating["createdAt"])}">{_e((rating["createdAt"] or "")[:10])}</time>'
            f"{comment}</li>")


def rating_section(seller: dict, ratings: list[dict]) -> str:
    items = "\n".join(rating_item(r) for r in ratings) or '      <li class="empty">No ratings yet.</li>'
    return assets.template("rating_section.html").substitute(
        badge=badge(seller), items=items, seller_id=_e(seller["sellerId"]))


def seller_page(seller: dict, feature: bool, reason: str, ratings: list[dict] | None,
                api_base: str, version: str) -> str:
    section = rating_section(seller, ratings or []) if feature else ""
    content = assets.template("seller.html").substitute(
        seller_id=_e(seller["sellerId"]), seller_name=_e(seller["sellerName"]),
        member_since=_e((seller.get("memberSince") or "")[:10]),
        feature="on" if feature else "off", reason=_e(reason), api_base=_e(api_base),
        rating_section=section,
    )
    return page(seller["sellerName"], content, version)


def index_page(version: str) -> str:
    return page("Home", assets.template("index.html").substitute(), version)


def message_page(title: str, text: str, version: str) -> str:
    return page(title, assets.template("message.html").substitute(heading=_e(title), text=_e(text)), version)

"""The product catalogue of the sample retailer (beauty, personal care and lifestyle).

One catalogue in two languages: zh_CN names and CNY prices, en_US names and USD prices
(``round(CNY / 6.5) - 0.01``). SKUs are shared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: (sku prefix, zh category, en category, share of order lines, search terms zh, en)
CATEGORIES: tuple[tuple[str, str, str, float, tuple[str, ...], tuple[str, ...]], ...] = (
    ("SK", "护肤", "Skincare", 0.26,
     ("精华", "面霜", "防晒", "面膜"), ("serum", "cream", "sunscreen")),
    ("MU", "彩妆", "Makeup", 0.18,
     ("口红", "粉底", "眼影"), ("lipstick", "foundation", "palette")),
    ("PC", "个护", "Personal care", 0.16,
     ("洗发水", "牙刷", "香水"), ("shampoo", "toothbrush", "perfume")),
    ("BB", "母婴", "Mother & baby", 0.08,
     ("纸尿裤", "奶粉", "湿巾"), ("diapers", "formula", "wipes")),
    ("FD", "食品", "Food", 0.12,
     ("坚果", "咖啡", "茶叶"), ("nuts", "coffee", "tea")),
    ("HM", "家居", "Home", 0.10,
     ("四件套", "香薰", "保温杯"), ("bedding", "candle", "tumbler")),
    ("AP", "服饰", "Apparel", 0.10,
     ("T恤", "瑜伽裤", "羽绒服"), ("t-shirt", "leggings", "down jacket")),
)  # fmt: skip

#: Products per category: (zh name, en name, CNY price).
PRODUCTS: dict[str, tuple[tuple[str, str, float], ...]] = {
    "SK": (
        ("玻尿酸保湿精华液 30ml", "Hyaluronic Hydrating Serum 30ml", 299),
        ("烟酰胺焕亮精华 50ml", "Niacinamide Brightening Serum 50ml", 259),
        ("氨基酸洁面乳 120g", "Amino Acid Cleanser 120g", 89),
        ("补水保湿面膜 10片", "Hydrating Sheet Masks x10", 129),
        ("修护舒缓面霜 50g", "Barrier Repair Cream 50g", 329),
        ("维C焕亮精华水 150ml", "Vitamin C Essence Toner 150ml", 189),
        ("清透防晒乳 SPF50+ 50ml", "Daily Sunscreen SPF50+ 50ml", 159),
        ("紧致眼霜 15g", "Firming Eye Cream 15g", 269),
        ("温和卸妆油 200ml", "Gentle Cleansing Oil 200ml", 139),
        ("视黄醇抗老精华 30ml", "Retinol Renewal Serum 30ml", 399),
        ("保湿爽肤水 200ml", "Moisturizing Toner 200ml", 119),
        ("滋润身体乳 250ml", "Nourishing Body Lotion 250ml", 99),
        ("护肤旅行套装", "Skincare Travel Kit", 199),
    ),
    "MU": (
        ("丝绒哑光口红 #01 正红", "Velvet Matte Lipstick #01 Red", 169),
        ("丝绒哑光口红 #02 豆沙", "Velvet Matte Lipstick #02 Rose", 169),
        ("丝绒哑光口红 #03 枫叶", "Velvet Matte Lipstick #03 Maple", 169),
        ("持妆粉底液 30ml 自然色", "Long-wear Foundation 30ml Natural", 299),
        ("持妆粉底液 30ml 象牙白", "Long-wear Foundation 30ml Ivory", 299),
        ("轻薄气垫BB霜", "Cushion BB Cream", 229),
        ("大地色眼影盘 12色", "Earth Tone Eyeshadow Palette 12", 259),
        ("纤长睫毛膏", "Lengthening Mascara", 129),
        ("自然眉笔", "Natural Brow Pencil", 69),
        ("柔雾腮红", "Soft Blush", 149),
        ("控油定妆散粉", "Setting Powder", 189),
        ("水光唇釉", "Glossy Lip Tint", 139),
        ("遮瑕膏", "Concealer", 119),
    ),
    "PC": (
        ("氨基酸洗发水 500ml", "Gentle Shampoo 500ml", 79),
        ("修护护发素 500ml", "Repair Conditioner 500ml", 79),
        ("香氛沐浴露 750ml", "Scented Body Wash 750ml", 69),
        ("声波电动牙刷", "Sonic Electric Toothbrush", 299),
        ("美白牙膏 3支装", "Whitening Toothpaste x3", 49),
        ("护手霜 3支装", "Hand Cream x3", 59),
        ("淡香水 50ml", "Eau de Toilette 50ml", 499),
        ("泡沫洗手液 500ml", "Foaming Hand Wash 500ml", 29),
        ("清新漱口水 500ml", "Fresh Mouthwash 500ml", 39),
        ("头皮护理精华 60ml", "Scalp Care Serum 60ml", 159),
    ),
    "BB": (
        ("婴儿纸尿裤 L码 84片", "Baby Diapers L x84", 169),
        ("婴儿湿巾 80抽×6包", "Baby Wipes 80 x6", 59),
        ("婴儿配方奶粉 3段 800g", "Infant Formula Stage 3 800g", 329),
        ("儿童牙膏 50g", "Kids Toothpaste 50g", 35),
        ("婴儿润肤乳 200ml", "Baby Lotion 200ml", 89),
        ("宽口径奶瓶 240ml", "Wide-neck Bottle 240ml", 129),
        ("宝宝辅食米粉 250g", "Baby Rice Cereal 250g", 69),
        ("孕妇护肤套装", "Maternity Skincare Set", 399),
    ),
    "FD": (
        ("每日坚果 30包", "Daily Nuts x30", 129),
        ("有机燕麦片 1kg", "Organic Oats 1kg", 49),
        ("挂耳咖啡 20包", "Drip Coffee x20", 79),
        ("西湖龙井茶 250g", "Longjing Green Tea 250g", 299),
        ("黑巧克力礼盒", "Dark Chocolate Gift Box", 159),
        ("胶原蛋白饮 10瓶", "Collagen Drink x10", 199),
        ("天然蜂蜜 500g", "Raw Honey 500g", 89),
        ("风干牛肉干 200g", "Beef Jerky 200g", 69),
        ("柳州螺蛳粉 5袋", "Liuzhou Rice Noodles x5", 59),
        ("新春坚果礼盒", "New Year Nut Gift Box", 259),
    ),
    "HM": (
        ("香薰蜡烛 200g", "Scented Candle 200g", 129),
        ("纯棉四件套 1.8m", "Cotton Bedding Set Queen", 499),
        ("乳胶枕", "Latex Pillow", 299),
        ("收纳箱 3件套", "Storage Boxes x3", 89),
        ("超声波香薰机", "Ultrasonic Diffuser", 199),
        ("纯棉浴巾 2条装", "Cotton Bath Towels x2", 129),
        ("不锈钢保温杯 500ml", "Insulated Tumbler 500ml", 159),
        ("洗衣凝珠 52颗", "Laundry Pods x52", 69),
        ("厨房纸巾 6卷", "Kitchen Towels x6", 29),
    ),
    "AP": (
        ("纯棉圆领T恤", "Cotton Crew T-shirt", 99),
        ("羊绒围巾", "Cashmere Scarf", 399),
        ("真丝睡衣套装", "Silk Pajama Set", 599),
        ("运动文胸", "Sports Bra", 199),
        ("高腰瑜伽裤", "High-waist Leggings", 259),
        ("棉袜 5双装", "Cotton Socks x5", 59),
        ("轻薄羽绒服", "Packable Down Jacket", 899),
        ("针织开衫", "Knit Cardigan", 329),
        ("冰丝防晒衣", "UV Protection Jacket", 199),
    ),
}


@dataclass(frozen=True)
class Catalogue:
    """Products as arrays: index ``i`` is one product."""

    sku: list[str]
    name: list[str]
    category: list[str]  # category label in the locale's language
    category_index: np.ndarray  # int, into CATEGORIES
    price_cents: np.ndarray  # int64
    popularity: np.ndarray  # within-category weights (Zipf-like), sums to 1 per category
    category_labels: list[str]
    category_shares: np.ndarray
    search_terms: list[tuple[str, ...]]
    currency: str

    @property
    def size(self) -> int:
        return len(self.sku)

    def members(self, category: int) -> np.ndarray:
        return np.flatnonzero(self.category_index == category)

    def sample(self, rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
        """One product per element of ``category``, by popularity within the category."""
        out = np.empty(len(category), dtype=np.int64)
        for c in range(len(self.category_labels)):
            sel = np.flatnonzero(category == c)
            members = self.members(c)
            cdf = np.cumsum(self.popularity[members])
            pick = np.searchsorted(cdf / cdf[-1], rng.random(len(sel)), side="right")
            out[sel] = members[np.minimum(pick, len(members) - 1)]
        return out


def build_catalogue(locale: str, rng: np.random.Generator) -> Catalogue:
    zh = locale == "zh_CN"
    sku, name, cat, cat_idx, price, pop = [], [], [], [], [], []
    for c, (prefix, zh_cat, en_cat, _share, _tz, _te) in enumerate(CATEGORIES):
        items = PRODUCTS[prefix]
        weights = 1.0 / np.arange(1, len(items) + 1) ** 0.8
        weights = rng.permutation(weights)
        weights /= weights.sum()
        for i, (zh_name, en_name, cny) in enumerate(items):
            sku.append(f"{prefix}-{i + 1:03d}")
            name.append(zh_name if zh else en_name)
            cat.append(zh_cat if zh else en_cat)
            cat_idx.append(c)
            usd = max(round(cny / 6.5), 1) - 0.01
            price.append(round((cny if zh else usd) * 100))
            pop.append(weights[i])
    return Catalogue(
        sku=sku,
        name=name,
        category=cat,
        category_index=np.asarray(cat_idx, dtype=np.int64),
        price_cents=np.asarray(price, dtype=np.int64),
        popularity=np.asarray(pop),
        category_labels=[c[1] if zh else c[2] for c in CATEGORIES],
        category_shares=np.asarray([c[3] for c in CATEGORIES]),
        search_terms=[c[4] if zh else c[5] for c in CATEGORIES],
        currency="CNY" if zh else "USD",
    )

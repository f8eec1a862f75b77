"""en_US data of the sample company: an American beauty and lifestyle retailer."""

from __future__ import annotations

TIMEZONE = "America/New_York"
COUNTRY = "US"
FAKER_LOCALE = "en_US"

# (state, city, tier 1-4, weight, neighborhoods, ZIP prefix)
CITIES = (
    ("New York", "New York", 1, 8.0, ("Manhattan", "Brooklyn", "Queens", "Bronx"), "100"),
    ("California", "Los Angeles", 1, 6.0, ("Hollywood", "Downtown", "Venice", "Westwood"), "900"),
    ("Illinois", "Chicago", 1, 4.5, ("Loop", "Lincoln Park", "Hyde Park"), "606"),
    ("California", "San Francisco", 1, 3.0, ("Mission", "SoMa", "Sunset"), "941"),
    ("Texas", "Houston", 2, 3.5, ("Midtown", "Montrose", "Heights"), "770"),
    ("Arizona", "Phoenix", 2, 2.5, ("Arcadia", "Ahwatukee", "Maryvale"), "850"),
    ("Pennsylvania", "Philadelphia", 2, 2.5, ("Center City", "Fishtown", "Manayunk"), "191"),
    ("Texas", "San Antonio", 2, 2.0, ("Alamo Heights", "Southtown"), "782"),
    ("California", "San Diego", 2, 2.2, ("La Jolla", "North Park", "Gaslamp"), "921"),
    ("Texas", "Dallas", 2, 2.6, ("Uptown", "Deep Ellum", "Oak Cliff"), "752"),
    ("California", "San Jose", 2, 1.8, ("Willow Glen", "Almaden"), "951"),
    ("Texas", "Austin", 2, 2.0, ("Downtown", "Hyde Park", "Zilker"), "787"),
    ("Washington", "Seattle", 2, 2.4, ("Capitol Hill", "Ballard", "Fremont"), "981"),
    ("Massachusetts", "Boston", 2, 2.4, ("Back Bay", "South End", "Beacon Hill"), "021"),
    ("Georgia", "Atlanta", 2, 2.3, ("Midtown", "Buckhead", "Old Fourth Ward"), "303"),
    ("Florida", "Miami", 2, 2.3, ("Brickell", "Wynwood", "Little Havana"), "331"),
    ("Colorado", "Denver", 3, 1.8, ("LoDo", "Highlands", "Capitol Hill"), "802"),
    ("Florida", "Jacksonville", 3, 1.4, ("Riverside", "San Marco"), "322"),
    ("Ohio", "Columbus", 3, 1.5, ("Short North", "German Village"), "432"),
    ("North Carolina", "Charlotte", 3, 1.5, ("Uptown", "South End", "NoDa"), "282"),
    ("Tennessee", "Nashville", 3, 1.4, ("The Gulch", "East Nashville"), "372"),
    ("Oregon", "Portland", 3, 1.4, ("Pearl District", "Alberta Arts"), "972"),
    ("Minnesota", "Minneapolis", 3, 1.3, ("North Loop", "Uptown"), "554"),
    ("Michigan", "Detroit", 3, 1.3, ("Midtown", "Corktown"), "482"),
    ("Nevada", "Las Vegas", 3, 1.2, ("Summerlin", "Henderson"), "891"),
    ("Missouri", "Kansas City", 4, 0.9, ("Westport", "Crossroads"), "641"),
    ("Wisconsin", "Milwaukee", 4, 0.8, ("Third Ward", "Bay View"), "532"),
    ("New Mexico", "Albuquerque", 4, 0.7, ("Nob Hill", "Old Town"), "871"),
    ("Nebraska", "Omaha", 4, 0.6, ("Dundee", "Benson"), "681"),
    ("Idaho", "Boise", 4, 0.5, ("North End", "Bench"), "837"),
)

#: Area codes (NANP) used for +1 mobile numbers.
AREA_CODES = (
    "212", "646", "917", "213", "310", "323", "312", "773", "415", "713", "602", "215",
    "210", "619", "214", "408", "512", "206", "617", "404", "305", "303", "904", "614",
    "704", "615", "503", "612", "313", "702", "816", "414", "505", "402", "208",
)  # fmt: skip
EMAIL_DOMAINS = (
    ("gmail.com", 0.5),
    ("yahoo.com", 0.15),
    ("outlook.com", 0.12),
    ("hotmail.com", 0.08),
    ("icloud.com", 0.1),
    ("aol.com", 0.05),
)
EMAIL_SHARE = 0.92
WECHAT_SHARE = 0.01

SOURCE_CHANNELS = {
    "online_store": 0.30, "app": 0.15, "retail_store": 0.20, "search_ads": 0.13,
    "social": 0.10, "referral": 0.06, "email": 0.03, "partner": 0.03,
}  # fmt: skip
ORDER_CHANNELS = {"online_store": 0.45, "app": 0.22, "retail_store": 0.25, "partner": 0.08}
OWN_CHANNELS = ("online_store", "app")
LEAD_SOURCES = {
    "search_ads": 0.3, "social": 0.25, "referral": 0.12, "event": 0.13, "partner": 0.1,
    "email": 0.1,
}  # fmt: skip

GENDER_SHARES = {"female": 0.60, "male": 0.36, "other": 0.02, "unknown": 0.02}
OCCUPATIONS = (
    ("Office worker", 0.25), ("Teacher", 0.06), ("Healthcare", 0.08), ("Student", 0.1),
    ("Freelancer", 0.07), ("Public sector", 0.06), ("Engineer", 0.09), ("Sales", 0.07),
    ("Business owner", 0.06), ("Homemaker", 0.05), ("Designer", 0.05), ("Retired", 0.06),
)  # fmt: skip
#: Annual household income in USD; probabilities by city tier 1..4.
INCOME_BANDS = ("<25k", "25k-50k", "50k-100k", "100k-200k", ">=200k")
INCOME_BY_TIER = (
    (0.08, 0.17, 0.33, 0.30, 0.12),
    (0.10, 0.22, 0.36, 0.25, 0.07),
    (0.13, 0.26, 0.37, 0.20, 0.04),
    (0.16, 0.30, 0.36, 0.15, 0.03),
)

STAFF = (
    ("emma.johnson", "Emma Johnson", "sales", "Key Accounts East"),
    ("olivia.smith", "Olivia Smith", "sales", "Key Accounts East"),
    ("liam.brown", "Liam Brown", "sales", "Key Accounts West"),
    ("noah.davis", "Noah Davis", "sales", "Key Accounts West"),
    ("ava.miller", "Ava Miller", "sales", "Key Accounts Central"),
    ("mason.wilson", "Mason Wilson", "sales", "Key Accounts Central"),
    ("sophia.moore", "Sophia Moore", "sales", "Member Growth"),
    ("lucas.taylor", "Lucas Taylor", "sales", "Member Growth"),
    ("mia.anderson", "Mia Anderson", "service", "Support Tier 1"),
    ("ethan.thomas", "Ethan Thomas", "service", "Support Tier 1"),
    ("isabella.jackson", "Isabella Jackson", "service", "Support Tier 1"),
    ("james.white", "James White", "service", "Support Tier 2"),
    ("amelia.harris", "Amelia Harris", "service", "Support Tier 2"),
    ("benjamin.martin", "Benjamin Martin", "service", "Support Tier 2"),
    ("harper.garcia", "Harper Garcia", "service", "After-sales"),
    ("elijah.lee", "Elijah Lee", "service", "After-sales"),
    ("charlotte.clark", "Charlotte Clark", "manager", "Sales Management"),
    ("henry.lewis", "Henry Lewis", "manager", "Customer Care Center"),
    ("grace.walker", "Grace Walker", "analyst", "Analytics"),
    ("admin", "Administrator", "admin", "IT"),
)
STAFF_EMAIL_DOMAIN = "example.com"

STORE_FORMAT = "{city} {district} Store"
CATEGORY_TAGS = (
    "skincare fan",
    "makeup lover",
    "self-care",
    "new parent",
    "foodie",
    "home lover",
    "fashion",
)
CHANNEL_TAGS = {"social": "social follower", "retail_store": "in-store member"}

TICKET_CHANNELS = {"phone": 0.3, "email": 0.3, "chat": 0.3, "app": 0.1}
TICKETS = {
    "complaint": (
        ("Late delivery", "Ordered a week ago and the tracking has not updated since."),
        ("Damaged item", "The bottle arrived broken and leaked inside the box."),
        ("Item not as described", "The shade looks very different from the product page."),
        ("Refund not received", "My return was delivered ten days ago, still no refund."),
        ("Slow support", "Waited over an hour in chat without an answer."),
        ("Missing item", "One item of my order was missing from the package."),
        ("Skin reaction", "I had a reaction after using the serum and want this addressed."),
        ("Coupon not working", "The discount code is rejected at checkout."),
    ),
    "inquiry": (
        ("Order status", "Where is my order right now?"),
        ("Using reward points", "Can I use my points to pay for part of an order?"),
        ("Ingredients question", "Is this serum safe during pregnancy? Does it contain alcohol?"),
        ("Invoice request", "How do I get an invoice for my order?"),
        ("Change shipping address", "I entered the wrong address, can you change it?"),
        ("Return policy", "Can I return an opened product?"),
    ),
    "suggestion": (
        ("Offer samples", "Please offer trial sizes of new products."),
        ("Improve app search", "Search should filter by skin concern."),
        ("More payment options", "Please support buy now, pay later."),
        ("Greener packaging", "Too much packaging; please use recyclable materials."),
    ),
    "praise": (
        ("Great support", "The agent patiently helped me find the right products."),
        ("Fast shipping", "Arrived the next day, beautifully packed."),
        ("Love the results", "My skin has improved a lot after a month. Will reorder!"),
    ),
    "service_request": (
        ("Exchange request", "Wrong size, I would like an exchange."),
        ("Invoice needed", "Please issue an invoice for my order."),
        ("Book an in-store facial", "I would like to book a facial this weekend."),
        ("Change my order", "Please switch the lipstick in my order to another shade."),
    ),
}

OUTBOUND = (
    ("New arrivals", "Introduced this month's new products; customer asked for samples."),
    ("Member benefits", "Reminded the customer of expiring points and rewards."),
    ("Birthday greeting", "Called with birthday wishes; birthday coupon issued."),
    ("Product follow-up", "Asked how the products work; customer is happy."),
    ("Sale invitation", "Invited the customer to the early-access sale."),
    ("Quarterly check-in", "Quarterly check-in with a key customer; recommended a set."),
)
INBOUND = (
    ("How to use a product", "Explained the order of serum and cream."),
    ("Promotion rules", "Explained the spend-and-save rules."),
    ("Store location", "Gave the nearest store's address and hours."),
)
AFTER_SALES = (
    ("Refund status", "Refund issued to the original payment method, 3 business days."),
    ("Exchange arranged", "Exchange shipped today."),
    ("Return follow-up", "Asked about the return reason: size ran small."),
)
COMMENTS = {
    "negative": ("Not happy with the quality.", "Shipping was too slow.",
                 "Support took too long to answer.", "Not as described, disappointed."),
    "neutral": ("It's fine, a bit pricey.", "Results are average.", "Shipping was okay."),
    "positive": ("Love it, will buy again!", "Fast shipping and helpful staff.",
                 "Great value.", "Beautiful packaging, perfect as a gift."),
}  # fmt: skip
SURVEY_CHANNELS = {"email": 0.55, "sms": 0.2, "app": 0.25}
EVENT_NAMES = ("Member night", "Product launch", "In-store skincare class", "Live Q&A")
SOCIAL_CHANNEL = "social"

CAMPAIGN_CHANNELS = ("email", "sms", "app_push")
SPECIAL_CAMPAIGNS = {
    11: ("Black Friday {year}", "promotion", 20, 10, ("email", "sms", "app_push")),
    12: ("Holiday Gift Guide {year}", "promotion", 1, 21, ("email", "app_push")),
    5: ("Mother's Day {year}", "promotion", 1, 12, ("email", "sms")),
    7: ("Summer Sale {year}", "promotion", 12, 7, ("email", "app_push")),
}
CNY_CAMPAIGN = None
MONTHLY_CAMPAIGNS = (
    ("Member Day {month_name} {year}", "loyalty"),
    ("New Arrivals {month_name} {year}", "new_arrivals"),
    ("Skincare Upgrade {month_name} {year}", "upsell"),
)
WIN_BACK = "We Miss You {month_name} {year}"
NPS_SURVEY = "Q{quarter} {year} Customer Survey"

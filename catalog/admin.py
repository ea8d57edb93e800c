from django.contrib import admin

from catalog.models import Cart, CartItem, Category, Listing, ListingImage


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ("name", "slug", "position")
    prepopulated_fields = {"slug": ("name",)}


class ListingImageInline(admin.TabularInline[ListingImage, Listing]):
    model = ListingImage
    extra = 0


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin[Listing]):
    list_display = ("title", "seller", "category", "price", "currency", "stock", "status")
    list_filter = ("status", "currency", "category")
    search_fields = ("title",)
    inlines = [ListingImageInline]


class CartItemInline(admin.TabularInline[CartItem, Cart]):
    model = CartItem
    extra = 0


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin[Cart]):
    list_display = ("id", "user", "updated_at")
    inlines = [CartItemInline]

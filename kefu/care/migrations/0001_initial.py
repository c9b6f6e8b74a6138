# The case archive moved from the metrics app. The table stays where it is
# (metrics_case, rows and all): this migration only tells Django's state that the model
# now lives here; metrics 0002 removes it from the metrics app's state.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0001_initial'),
        ('conversations', '0001_initial'),
        # The table is created there.
        ('metrics', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Case',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('date', models.DateField(verbose_name='date 日期')),
                        ('agent_name', models.CharField(blank=True, max_length=150)),
                        ('buyer_name', models.CharField(blank=True, max_length=120)),
                        ('title', models.CharField(max_length=200, verbose_name='title')),
                        ('event', models.TextField(verbose_name='event 事件')),
                        ('follow_up', models.TextField(blank=True, verbose_name='follow-up 跟进')),
                        ('outcome', models.TextField(blank=True, verbose_name='outcome 结果')),
                        ('outcome_kind', models.CharField(choices=[('open', 'Still open 处理中'), ('resolved', 'Resolved 已解决'), ('escalated', 'Escalated to the platform 平台介入'), ('lost', 'Buyer lost 流失')], default='resolved', max_length=12)),
                        ('tags', models.CharField(blank=True, max_length=200, verbose_name='tags')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('agent', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('conversation', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='conversations.conversation')),
                        ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('shop', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.shop')),
                    ],
                    options={
                        'db_table': 'metrics_case',
                        'ordering': ['-date', '-id'],
                        'indexes': [models.Index(fields=['shop', '-date'], name='case_shop_date')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
